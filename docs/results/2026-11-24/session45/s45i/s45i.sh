#!/usr/bin/env bash
# s45i (one GPU): the session's final code: every GPU case.
set -u
source .devdeps/on-device.sh
R=/tmp/s45i; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45i.tgz -C /tmp s45i' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 400 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests.txt | head -40; grep -A1 MESSAGE $R/tests.txt | grep -i invariant
