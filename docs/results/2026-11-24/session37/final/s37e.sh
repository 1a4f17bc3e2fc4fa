#!/usr/bin/env bash
# s37e (one H200): the committed code (moe_down_tail_fits takes m): moe, CUDA step and generate test cases.
set -u
source .devdeps/on-device.sh
R=/tmp/s37e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s37e.tgz -C /tmp s37e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*,tachyon generate*" > $R/tests.txt 2>&1; echo "moe + step + generate tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
