#!/usr/bin/env bash
# s27h (one H200): the several-token down kernel with one shared-memory layout for carving and sizing (review):
# moe and cuda step tests, compute-sanitizer on its test case, the Qwen 1 x 9 step.
set -u
source .devdeps/on-device.sh
R=/tmp/s27h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27h.tgz -C /tmp s27h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate --device cuda gives*" > $R/tests-step.txt 2>&1; echo "cuda step/generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
timeout 200 /usr/local/cuda/bin/compute-sanitizer --print-limit 4 build/tests/tachyon_gpu_tests -tc="gpu moe down at 2-16*" > $R/sanitizer.txt 2>&1; echo "sanitizer rc $? $(grep -E 'ERROR SUMMARY|test cases' $R/sanitizer.txt | tr '\n' ' ')"
timeout 60 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 9 --reps 20 > $R/step-qwen-1x9.txt 2>&1; grep -E '^\| qwen' $R/step-qwen-1x9.txt | cut -d'|' -f5,7,14
echo "total $(( $(date +%s) - t0 )) s"
