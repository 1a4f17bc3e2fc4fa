#!/usr/bin/env bash
# s31a (one H200): per-instruction executed counts and stall samples (ncu source page) of the MiMo tp slice's gate_up
# at the verify size (kernel bench row 8 tokens over 16 experts) and of the SWA decode attention at batch 1.
set -u
source .devdeps/on-device.sh
R=/tmp/s31a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s31a.tgz -C /tmp s31a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
export TACHYON_MOE_BENCH_ONLY="MiMo-V2.5-Pro tp"
timeout 100 $B bench kernels --only moe > $R/kernels-moe.txt 2>&1; echo "bench rc $? $(( $(date +%s) - t0 )) s"
grep -E 'tp slice' $R/kernels-moe.txt | cut -c1-170
timeout 100 $B bench kernels --only attention > $R/kernels-attention.txt 2>&1; echo "attn bench rc $?"
grep -E 'SWA|global' $R/kernels-attention.txt | head -4 | cut -c1-200
prof(){ # regex skip tag args...
  local re=$1 skip=$2 tag=$3; shift 3
  timeout 150 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    --graph-profiling node -o $R/$tag -f $B "$@" > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats --section SchedulerStats --section MemoryWorkloadAnalysis --section SourceCounters --section InstructionStats > $R/details-$tag.txt 2>&1
  grep -E 'Duration|Elapsed Cycles|SM Frequency|DRAM Throughput|Registers Per|Grid Size|Block Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Issued Instructions  ' $R/details-$tag.txt | head -16
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null
  head -3 $R/sass-$tag.csv | cut -c1-600
}
prof 'moe_mma_kernel<.*Proj\)0' 2 gateup bench kernels --only moe
unset TACHYON_MOE_BENCH_ONLY
prof 'attention_kernel<192, 128, 4>' 2 attn bench kernels --only attention
echo "total $(( $(date +%s) - t0 )) s"
