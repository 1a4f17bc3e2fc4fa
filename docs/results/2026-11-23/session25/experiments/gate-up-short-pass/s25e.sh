#!/usr/bin/env bash
# s25e (one H200): experiment: gate_up's short passes of 9 staged tokens (new) against 8-token passes (XNOSHORT=1,
# an experiment switch, same binary): moe + step tests, the steps at 9 tokens interleaved, a 1 x 9 timeline of each.
set -u
source .devdeps/on-device.sh
R=/tmp/s25e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s25e.tgz -C /tmp s25e' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*,tachyon generate --device cuda gives*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
grep -B4 -A10 "ERROR" $R/tests.txt | head -40
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,12,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in short eight; do
  left 400 || continue
  if [[ $v == eight ]]; then export XNOSHORT=1; else unset XNOSHORT; fi
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in short eight; do
  left 480 || continue
  if [[ $v == eight ]]; then export XNOSHORT=1; else unset XNOSHORT; fi
  build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl-$v.json > $R/tl-$v.txt 2>&1
  echo "timeline $v:"; grep -E "^\| (moe_mma)" $R/tl-$v.txt | cut -c1-120 | head -4
done
echo "total $(( $(date +%s) - t0 )) s"
