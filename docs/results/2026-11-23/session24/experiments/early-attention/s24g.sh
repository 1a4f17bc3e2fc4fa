#!/usr/bin/env bash
# s24g (one H200): EXPERIMENT qkv_prepare releases attention at its start (TACHYON_EXP_EARLY_ATTN=1) against the same
# binary without: CUDA step tests with the switch on, the step (MiMo slice, Qwen3-30B-A3B) interleaved, timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s24g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s24g.tgz -C /tmp s24g' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' '; }
TACHYON_EXP_EARLY_ATTN=1 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate --device cuda gives*" > $R/tests-early.txt 2>&1; echo "tests (early) rc $? $(tail -2 $R/tests-early.txt | head -1)"
for r in 1 2; do for v in early base; do
  left 420 || continue
  E=""; [[ $v == early ]] && E="TACHYON_EXP_EARLY_ATTN=1"
  env $E build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 30 > $R/step-mimo-$v-r$r.txt 2>&1
  echo "r$r $v mimo: $(row $R/step-mimo-$v-r$r.txt)"
  env $E build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > $R/step-qwen-$v-r$r.txt 2>&1
  echo "r$r $v qwen: $(row $R/step-qwen-$v-r$r.txt)"
done; done
for v in early base; do
  left 520 || continue
  E=""; [[ $v == early ]] && E="TACHYON_EXP_EARLY_ATTN=1"
  env $E build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 --timeline $R/tl-$v.json > $R/tl-$v.txt 2>&1
  echo "timeline $v: $(grep -E 'attention_kernel|qkv_prepare|linear_kernel<\(WeightFormat\)2, (false|true), (1|2), 1, (4|6), 4, false' $R/tl-$v.txt | cut -d'|' -f2,5 | tr -s ' ' | tr '\n' ' ')"
done
echo "total $(( $(date +%s) - t0 )) s"
