#!/usr/bin/env bash
# s43b (one GPU): why the warpgroup-MMA verify attention is slow (Nsight Compute, the kernel bench's Qwen3-235B-A22B verify-9 row at
# batch 8) and what is wrong at 64/64 dims (compute-sanitizer on the first attention test case).
set -u
source .devdeps/on-device.sh
R=/tmp/${S43:-s43b}; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/${S43:-s43b}.tgz -C /tmp ${S43:-s43b}' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
TACHYON_BENCH_PROFILE=1 TACHYON_ATTENTION_WGMMA=1 timeout 200 ncu --kernel-name-base demangled -k "regex:attention_wgmma_kernel" --launch-count 1 --set full --import-source yes \
    -o $R/wg -f $B bench kernels --only attention > $R/ncu-wg.log 2>&1
echo "ncu rc $? $(( $(date +%s) - t0 )) s"
ncu --import $R/wg.ncu-rep --page details > $R/details-wg.txt 2>&1
ncu --import $R/wg.ncu-rep --page source --csv --print-source sass > $R/source-wg.csv 2>/dev/null; gzip -f $R/source-wg.csv
grep -E "Duration|Registers Per|Achieved Occupancy|Issued Ipc|No Eligible|DRAM Throughput|Warp Cycles Per Issued|Theoretical Occ|Block Limit" $R/details-wg.txt | head -20
# the mma.sync kernel on the same row, for comparison
TACHYON_BENCH_PROFILE=1 timeout 200 ncu --kernel-name-base demangled -k "regex:attention_kernel" --launch-skip 1 --launch-count 1 --set full \
    -o $R/old -f $B bench kernels --only attention > $R/ncu-old.log 2>&1
echo "ncu old rc $? $(( $(date +%s) - t0 )) s"
ncu --import $R/old.ncu-rep --page details > $R/details-old.txt 2>&1
grep -E "attention_kernel|Duration|Registers Per|Achieved Occupancy|Issued Ipc|No Eligible|DRAM Throughput|Warp Cycles Per Issued" $R/details-old.txt | head -20
