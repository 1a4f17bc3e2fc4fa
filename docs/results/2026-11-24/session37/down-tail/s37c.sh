#!/usr/bin/env bash
# s37c (one H200): the combine + add + norm in the one-token down's last CTA, after the slot rows (--no-summed-down) or
# after their sum (default), against the launch of its own (--no-down-tail), same binary: tests; Qwen3-30B-A3B steps two
# rounds each (the MiMo slice's bench plans 8 ranks: no tail there); 1 x 1 timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s37c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s37c.tgz -C /tmp s37c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in slots-tail slots summed-tail summed; do
  F=""; case $v in slots-tail) F="--no-summed-down";; slots) F="--no-summed-down --no-down-tail";; summed) F="--no-down-tail";; esac
  m=qwen3-30b-a3b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $F > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
done; done
for v in slots-tail slots; do
  F="--no-summed-down"; [ $v = slots ] && F="--no-summed-down --no-down-tail"
  m=qwen3-30b-a3b; timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 $F --timeline $R/tl-$m-$v.txt > $R/tl-$m-$v.log 2>&1
  echo "$m $v:"; grep -A14 'Kernel timeline' $R/tl-$m-$v.log | grep -E "down|combine|rmsnorm|gate_up|sum of"
done
echo "total $(( $(date +%s) - t0 )) s"
