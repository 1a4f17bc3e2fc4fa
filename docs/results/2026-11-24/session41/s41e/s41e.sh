#!/usr/bin/env bash
# s41e (one H200, warm after s41d): the step of four models, new (ed6ae11) and old (its parent's moe files), rounds 2-3.
set -u
source .devdeps/on-device.sh
R=/tmp/s41e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41e.tgz -C /tmp s41e' EXIT
[ -x /tmp/build-old/bin/tachyon ] && [ -x build/bin/tachyon ] || { echo "no builds (machine not warm)"; exit 1; }
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 2 3; do
  for v in new old; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice gpt-oss-120b qwen3-235b-a22b; do
      [ $r = 3 ] && [ $m != qwen3-30b-a3b ] && continue
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
