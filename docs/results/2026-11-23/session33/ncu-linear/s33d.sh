#!/usr/bin/env bash
# s33d (one H200): what bounds the tensor-core linear at 9 rows (the verify step's q/k/v and o_proj): Nsight Compute
# details and the per-SASS-line source page of MiMo-V2.5-Pro's LM-head slice at m = 9, FP8 and BF16 weights
# (TACHYON_BENCH_PROFILE=1 tachyon bench kernels --only linear: one launch each), committed code.
set -u
source .devdeps/on-device.sh
R=/tmp/s33d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33d.tgz -C /tmp s33d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 20 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
timeout 60 $B bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "bench rc $?"
grep -E 'lm_head \[19072, 6144\] m=9' $R/kernels-linear.txt | cut -c1-170
export TACHYON_BENCH_PROFILE=1
prof(){ # regex skip tag
  local re=$1 skip=$2 tag=$3
  timeout 200 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    -o $R/$tag -f $B bench kernels --only linear > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  grep -E 'linear_kernel|Duration|Elapsed Cycles|SM Frequency|DRAM Throughput|Registers Per|Grid Size|Block Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Issued Instructions  |Achieved Occupancy|Theoretical Occupancy' $R/details-$tag.txt | head -20
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null; gzip -f $R/sass-$tag.csv
  rm -f $R/$tag.ncu-rep
}
prof 'linear_kernel' 3 fp8-m9
prof 'linear_kernel' 1 bf16-m9
echo "total $(( $(date +%s) - t0 )) s"
