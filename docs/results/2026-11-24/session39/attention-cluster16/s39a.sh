#!/usr/bin/env bash
# s39a (one H200): the committed code 40b8cdc; the step of both models with and without TACHYON_ATTENTION_MAX_CLUSTER=16
# (16-CTA attention clusters), two rounds interleaved; the attention kernel bench both ways.
set -u
source .devdeps/on-device.sh
R=/tmp/s39a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39a.tgz -C /tmp s39a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in base c16; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      if [ $v = c16 ]; then export TACHYON_ATTENTION_MAX_CLUSTER=16; else unset TACHYON_ATTENTION_MAX_CLUSTER; fi
      timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1
      echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
unset TACHYON_ATTENTION_MAX_CLUSTER
timeout 120 build/bin/tachyon bench kernels --only attention > $R/attn-base.txt 2>&1
TACHYON_ATTENTION_MAX_CLUSTER=16 timeout 120 build/bin/tachyon bench kernels --only attention > $R/attn-c16.txt 2>&1
paste -d'#' <(grep "^|" $R/attn-base.txt) <(grep "^|" $R/attn-c16.txt | awk -F'|' '{print $0}') | head -40
echo "total $(( $(date +%s) - t0 )) s"
