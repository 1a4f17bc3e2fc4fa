#!/usr/bin/env bash
# s37a (one H200): moe_down summing the one token's slot rows itself (default) against --no-summed-down, same binary:
# moe / step / generate tests; the step two rounds each; 1 x 1 timelines of both.
set -u
source .devdeps/on-device.sh
R=/tmp/s37a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s37a.tgz -C /tmp s37a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
grep "summed down" $R/tests-step.txt | head
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in summed slots; do
  F=""; [ $v = slots ] && F="--no-summed-down"
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $F > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do for v in summed slots; do
  F=""; [ $v = slots ] && F="--no-summed-down"
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 $F --timeline $R/tl-$m-$v.txt > $R/tl-$m-$v.log 2>&1
  echo "$m $v:"; grep -A14 'Kernel timeline' $R/tl-$m-$v.log | grep -E "down|combine|rmsnorm|gate_up|sum of"
done; done
echo "total $(( $(date +%s) - t0 )) s"
