#!/usr/bin/env bash
# s46n (one GPU): every GPU case on the session's final code (a3ee51c).
set -u
source .devdeps/on-device.sh
R=/tmp/s46n; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46n.tgz -C /tmp s46n' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 420 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A6 ERROR $R/tests.txt
echo "total $(( $(date +%s) - t0 )) s"
