#!/usr/bin/env bash
# s29k (one H200): the final code (a27ebe2: the row stream at one and two rows, one SM-count helper): GPU tests and a step.
set -u
source .devdeps/on-device.sh
R=/tmp/s29k; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29k.tgz -C /tmp s29k' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,gpu attention*,gpu moe*" > $R/tests-kernels.txt 2>&1; echo "linear+attention+moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-kernels.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-kernels.txt | head -30
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-qwen.txt 2>&1; echo "qwen: $(row $R/step-qwen.txt)"
T=$(( 560 - ($(date +%s) - t0) ))
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*,*speculative*" > $R/tests-step.txt 2>&1; echo "step/generate/drafter/speculative tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
