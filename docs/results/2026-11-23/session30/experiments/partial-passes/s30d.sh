#!/usr/bin/env bash
# s30d (one H200): partly staged passes (MiMo gate_up at 9-16 tokens): moe tests, step A/B (--no-partial-passes), timeline, step tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s30d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s30d.tgz -C /tmp s30d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in on off; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    flag=""; [ $v = off ] && flag="--no-partial-passes"
    timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $flag > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in on off; do
  flag=""; [ $v = off ] && flag="--no-partial-passes"
  timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 10 --context 1024 --timeline $R/tl.json $flag > $R/step-tl-mimo-$v.txt 2>&1
  echo "tl $v"; awk '/1 x 9 \(seqs/{f=1} f&&/^\|/{print} f&&/sum of medians/{exit}' $R/step-tl-mimo-$v.txt | cut -d"|" -f2-5 | head -6
done
rm -f $R/tl.json
T=$(( 560 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
