#!/usr/bin/env bash
# s29d (one H200): the row stream with the slice rule: tests, kernel bench, step A/B, then the step/generate tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s29d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29d.tgz -C /tmp s29d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-linear.txt | head -40
timeout 120 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "kernel bench rc $?"
grep -E "m=1 |m=2 |copy" $R/kernels-linear.txt | cut -d"|" -f2,4,5,7 | tr -s ' ' | head -90
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in auto never; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 --linear-stream $v > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 10 --context 1024 --timeline $R/tl-qwen.json > $R/step-tl-qwen.txt 2>&1; awk '/1 x 1 \(seqs/{f=1} f&&/^\|/{print} f&&/sum of medians/{exit}' $R/step-tl-qwen.txt | cut -d"|" -f2-5 | head -14
T=$(( 560 - ($(date +%s) - t0) ))
echo "step+generate tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-step.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
