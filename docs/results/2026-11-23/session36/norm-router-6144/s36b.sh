#!/usr/bin/env bash
# s36b (one H200): add_rmsnorm_router up to 6144 elements (MiMo-V2.5-Pro's one row of 6144, Qwen3-30B-A3B's three rows of
# 2048): its GPU test, step + generate tests, and the step fused against --no-fused-norm-router in the same binary, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s36b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36b.tgz -C /tmp s36b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 100 build/tests/tachyon_gpu_tests -tc="gpu add_rmsnorm_router*,gpu rmsnorm*,gpu add_rmsnorm*,gpu combine*" > $R/tests-norm.txt 2>&1; echo "norm tests rc $? $(grep -E 'test cases|assertions' $R/tests-norm.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-norm.txt | head -30
timeout 150 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in fused two; do
  F=""; [ $v = two ] && F=--no-fused-norm-router
  timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 30 $F > "$R/step-mimo-$v-r$r.txt" 2>&1; echo "r$r $v mimo: $(row $R/step-mimo-$v-r$r.txt) $(( $(date +%s) - t0 )) s"
  timeout 100 build/bin/tachyon bench step --model qwen3-30b-a3b --seqs 1 --tokens 1,2,3 --reps 30 $F > "$R/step-qwen-$v-r$r.txt" 2>&1; echo "r$r $v qwen: $(row $R/step-qwen-$v-r$r.txt) $(( $(date +%s) - t0 )) s"
done; done
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-mimo.txt > $R/tl-mimo.log 2>&1
grep -A14 'Kernel timeline' $R/tl-mimo.log | grep -E "router|norm|route"
echo "total $(( $(date +%s) - t0 )) s"
