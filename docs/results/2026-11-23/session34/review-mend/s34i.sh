#!/usr/bin/env bash
# s34i (one H200): linear_split_x's group count written without its redundant branch: the linear tests.
set -u
source .devdeps/on-device.sh
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /tmp/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon_gpu_tests > /tmp/build.log 2>&1 || { grep -B2 -A12 "error" /tmp/build.log | head -40; exit 1; }
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $OUT/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $OUT/tests-linear.txt | tail -2 | tr '\n' ' ')"
