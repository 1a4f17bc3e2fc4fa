#!/usr/bin/env bash
# s28b (one H200): the several-token gate_up kernel, 4 K splits a tile: tests, then the step A/B.
# interleaved (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s28b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s28b.tgz -C /tmp s28b' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -60
timeout 100 build/tests/tachyon_gpu_tests -tc="*cuda step*" > $R/tests-step.txt 2>&1; echo "cuda step tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in always never; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    left 500 || continue
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --few-token-gate-up $v > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 10 --context 1024 --timeline $R/tl-qwen.json > $R/step-tl-qwen.txt 2>&1; grep -E "moe_few|moe_mma|makespan" $R/step-tl-qwen.txt | head -12
echo "total $(( $(date +%s) - t0 )) s"
