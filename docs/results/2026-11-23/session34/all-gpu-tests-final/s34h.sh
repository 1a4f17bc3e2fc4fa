#!/usr/bin/env bash
# s34h (one H200): the committed code (session 34, final), every GPU test case, and the MPI tests' GPU cases.
set -u
source .devdeps/on-device.sh
R=/tmp/s34h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s34h.tgz -C /tmp s34h' EXIT
git log --oneline -1 > $R/commit.txt 2>/dev/null
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 420 build/tests/tachyon_gpu_tests > $R/tests-gpu.txt 2>&1; echo "gpu tests rc $? $(grep -E 'test cases|assertions' $R/tests-gpu.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-gpu.txt | head -50
echo "total $(( $(date +%s) - t0 )) s"
