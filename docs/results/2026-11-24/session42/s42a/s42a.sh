#!/usr/bin/env bash
# s42a (one GPU): what bounds the 72-row FP8 tensor-core linear (MiMo-V2.5-Pro q_proj [3072, 6144] at m = 72, the
# first FP8 9-n-tile launch of `bench kernels --only linear`): the kernel bench's linear table, Nsight Compute details and
# the per-SASS-line source page of one launch, committed code.
set -u
source .devdeps/on-device.sh
R=/tmp/s42a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42a.tgz -C /tmp s42a' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
#timeout 90 $B bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "bench rc $?"
#grep -E 'm=72' $R/kernels-linear.txt | cut -c1-150
prof(){ # regex skip tag
  local re=$1 skip=$2 tag=$3
  timeout 240 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    -o $R/$tag -f $B bench kernels --only linear > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  grep -E 'linear_kernel|Duration|Elapsed Cycles|SM Frequency|DRAM Throughput|Registers Per|Grid Size|Block Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Issued Instructions  |Achieved Occupancy|Theoretical Occupancy|Dynamic Shared' $R/details-$tag.txt | head -24
  ncu --import $R/$tag.ncu-rep --page raw --csv > $R/raw-$tag.csv 2>/dev/null; gzip -f $R/raw-$tag.csv
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null; gzip -f $R/sass-$tag.csv
  rm -f $R/$tag.ncu-rep
}
prof 'linear_kernel<.tachyon::WeightFormat.2, .bool.1, .int.9,' 6 fp8-m72
echo "total $(( $(date +%s) - t0 )) s"
