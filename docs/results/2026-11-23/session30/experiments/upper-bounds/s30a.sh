#!/usr/bin/env bash
# s30a (one H200): EXPERIMENT upper bound: gate_up's x staging skipped (zeros; wrong outputs) vs normal, step A/B + timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s30a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s30a.tgz -C /tmp s30a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in normal skip; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    if [ $v = skip ]; then export TACHYON_EXP_SKIP_STAGE=1; else unset TACHYON_EXP_SKIP_STAGE; fi
    timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in normal skip; do
  if [ $v = skip ]; then export TACHYON_EXP_SKIP_STAGE=1; else unset TACHYON_EXP_SKIP_STAGE; fi
  timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 10 --context 1024 --timeline $R/tl.json > $R/step-tl-mimo-$v.txt 2>&1
  echo "tl $v"; awk '/1 x 9 \(seqs/{f=1} f&&/^\|/{print} f&&/sum of medians/{exit}' $R/step-tl-mimo-$v.txt | cut -d"|" -f2-5 | head -8
done
rm -f $R/tl.json
echo "total $(( $(date +%s) - t0 )) s"
