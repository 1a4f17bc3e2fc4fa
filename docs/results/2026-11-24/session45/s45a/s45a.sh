#!/usr/bin/env bash
# s45a (one GPU): batch-invariant mode: build, the new invariance cases, then every GPU case (default mode unchanged).
set -u
source .devdeps/on-device.sh
R=/tmp/s45a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45a.tgz -C /tmp s45a' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="*batch invariance*,*batch-invariant*" > $R/inv.txt 2>&1; echo "invariance rc $? $(grep -E 'test cases|assertions' $R/inv.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -E "ERROR|differ|MESSAGE|outside" $R/inv.txt | head -60
timeout 300 build/tests/tachyon_gpu_tests -tce="*batch invariance*,*batch-invariant*" > $R/tests.txt 2>&1; echo "others rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
