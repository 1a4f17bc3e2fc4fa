#!/usr/bin/env bash
# s45j (one GPU): the cleanup (the K-split check in launch_group; the invariance case's accuracy through check_linear):
# the invariance cases and every linear case.
set -u
source .devdeps/on-device.sh
R=/tmp/s45j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45j.tgz -C /tmp s45j' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests -tc="*batch invariance*,*batch-invariant*,gpu linear*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 8 -B3 -A8 "ERROR" $R/tests.txt | head -40
