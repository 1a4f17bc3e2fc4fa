#!/usr/bin/env bash
# s29h (one H200): the committed code (row stream at one and two rows): the speculative GPU tests and the linear tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s29h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29h.tgz -C /tmp s29h' EXIT
git log --oneline -1 2>/dev/null
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 100 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
T=$(( 560 - ($(date +%s) - t0) ))
timeout $T build/tests/tachyon_gpu_tests -tc="*speculative*,*drafter*" > $R/tests-spec.txt 2>&1; echo "speculative+drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests-spec.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-spec.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
