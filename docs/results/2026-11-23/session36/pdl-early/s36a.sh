#!/usr/bin/env bash
# s36a (one H200): the successor launched early (TACHYON_PDL_EARLY=qkv: attention launches at qkv_prepare's start;
# =norm: the router linear at add_rmsnorm's start), an experiment switch in one binary: step + generate tests with
# both on, the step at 1 x 1 / 1 x 9 for the four variants two rounds, 8 x 1 / 8 x 9 off vs both, timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s36a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36a.tgz -C /tmp s36a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_PDL_EARLY=qkv,norm timeout 150 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step-early.txt 2>&1; echo "step+generate tests (early) rc $? $(grep -E 'test cases|assertions' $R/tests-step-early.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step-early.txt | head -30
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in off qkv norm qkv,norm; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    [ $m = qwen3-30b-a3b ] && [ $v = norm ] && continue
    TACHYON_PDL_EARLY=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt) $(( $(date +%s) - t0 )) s"
  done
done; done
for v in off qkv,norm; do for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  TACHYON_PDL_EARLY=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 8 --tokens 1,9 --reps 20 > "$R/step8-$m-$v.txt" 2>&1; echo "8: $v $m: $(row $R/step8-$m-$v.txt) $(( $(date +%s) - t0 )) s"
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  TACHYON_PDL_EARLY=qkv,norm timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m-early.txt > $R/tl-$m-early.log 2>&1
  grep -A14 'Kernel timeline' $R/tl-$m-early.log | grep -E "attention|linear|norm|qkv"
done
echo "total $(( $(date +%s) - t0 )) s"
