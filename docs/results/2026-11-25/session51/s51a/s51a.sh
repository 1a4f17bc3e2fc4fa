#!/usr/bin/env bash
# s51a (one H200): the several-token MXFP4 down kernel (moe_down_few_tokens.cu) against the persistent one at K = 256
# (MiMo-V2.5-Pro slice) and K = 192 (Qwen3-235B-A22B slice), where Auto keeps the persistent kernel: the step with
# --few-token-down auto|always, interleaved, two rounds, and a timeline of each.
set -u
source .devdeps/on-device.sh
R=/tmp/s51a; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s51a.tgz -C /tmp s51a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
    for f in auto always; do
      tl=""; [ $r = 1 ] && tl="--timeline $R/tl-$m-$f.json"
      timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --few-token-down $f $tl > $R/step-$m-$f-r$r.txt 2>&1
      echo "$m $f r$r: $(grep '^| ' $R/step-$m-$f-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
grep -h -i "down\|gate_up" $R/step-*-r1.txt | head -60
rm -f $R/*.log
echo "total $(el)"
