#!/usr/bin/env bash
# s37d (one H200): the final code: the combine + add + norm in the one-token down's last CTA (default) against
# --no-down-tail, same binary: every GPU test case; the step two rounds each; a 1 x 1 timeline of both (Qwen3-30B-A3B).
set -u
source .devdeps/on-device.sh
R=/tmp/s37d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s37d.tgz -C /tmp s37d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 330 build/tests/tachyon_gpu_tests > $R/tests-all.txt 2>&1; echo "all GPU tests rc $? $(grep -E 'test cases|assertions' $R/tests-all.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-all.txt | head -40
grep "logits compared" $R/tests-all.txt | grep "fused router" | head
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in tail launch; do
  F=""; [ $v = launch ] && F="--no-down-tail"
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $F > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for v in tail launch; do
  F=""; [ $v = launch ] && F="--no-down-tail"
  m=qwen3-30b-a3b; timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 $F --timeline $R/tl-$m-$v.txt > $R/tl-$m-$v.log 2>&1
  echo "$m $v:"; grep -A14 'Kernel timeline' $R/tl-$m-$v.log | grep -E "down|combine|rmsnorm|gate_up|sum of|kernels a step"
done
echo "total $(( $(date +%s) - t0 )) s"
