#!/usr/bin/env bash
# s25f (one H200): the committed code after the shared streaming load (ldg_stream.cuh): linear, moe, step and generate tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s25f; mkdir -p $R
trap 'tar czf $OUT/s25f.tgz -C /tmp s25f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
timeout 300 build/tests/tachyon_gpu_tests -tc="gpu linear*,gpu moe*,*cuda step*,tachyon generate --device cuda gives*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 > $R/step-mimo.txt 2>&1; grep -E '^\| mimo' $R/step-mimo.txt | cut -d'|' -f5,7,12,13
