#!/usr/bin/env bash
# s35g (one H200): review mend (the one-token gate_up's producer takes its boxes' bounds from C::split, as the compute
# warps do): moe tests, CUDA step + generate tests, the step at 1 x 1.
set -u
source .devdeps/on-device.sh
R=/tmp/s35g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s35g.tgz -C /tmp s35g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
timeout 150 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 30 > "$R/step-$m.txt" 2>&1; echo "$m: $(row $R/step-$m.txt)"; done
echo "total $(( $(date +%s) - t0 )) s"
