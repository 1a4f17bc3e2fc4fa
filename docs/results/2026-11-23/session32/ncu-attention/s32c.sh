#!/usr/bin/env bash
# s32c (one H200): Nsight Compute on attention at batch 32, MiMo global layer decode (4k context), and Qwen3-235B verify-9 b8.
set -u
source .devdeps/on-device.sh
R=/tmp/s32c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s32c.tgz -C /tmp s32c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
export TACHYON_BENCH_PROFILE=1
prof(){ # regex skip tag
  local re=$1 skip=$2 tag=$3
  timeout 200 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    -o $R/$tag -f $B bench kernels --only attention > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"; tail -3 $R/ncu-$tag.log
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  grep -E 'Duration|Elapsed Cycles|SM Frequency|DRAM Throughput|Registers Per|Grid Size|Block Size|Cluster Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Achieved Occupancy|Theoretical Occupancy|Block Limit|Issued Instructions  |Executed Instructions  ' $R/details-$tag.txt | head -24
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null
  gzip -f $R/sass-$tag.csv
}
prof 'attention_kernel<\(int\)192, \(int\)128' 0 mimo-global-b32
prof 'attention_kernel<\(int\)128, \(int\)128' 0 qwen235-verify9-b8
echo "total $(( $(date +%s) - t0 )) s"
