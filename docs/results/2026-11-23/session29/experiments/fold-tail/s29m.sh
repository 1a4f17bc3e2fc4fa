#!/usr/bin/env bash
# s29m (one H200): a MoE layer's tail (combine + add + norm) folded into the next layer's q/k/v row-stream launch:
# tests, then the step with and without --no-fold-tail, same binary.
set -u
source .devdeps/on-device.sh
R=/tmp/s29m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29m.tgz -C /tmp s29m' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 120 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -30
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in fold nofold; do
  f=""; [ $v = nofold ] && f="--no-fold-tail"
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 $f > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 10 --context 1024 --timeline $R/tl-qwen.json > $R/step-tl-qwen.txt 2>&1; awk '/1 x 1 \(seqs/{f=1} f&&/^\|/{print} f&&/sum of medians/{exit}' $R/step-tl-qwen.txt | cut -d"|" -f2-5 | head -14
T=$(( 560 - ($(date +%s) - t0) ))
echo "step/generate/drafter/speculative tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*,*speculative*" > $R/tests-step.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -40
grep -E "tails unfolded|rows compared" $R/tests-step.txt | head -12
echo "total $(( $(date +%s) - t0 )) s"
