#!/usr/bin/env bash
# s42e (one GPU, s42d's machine and builds): round 2 of Qwen3-30B-A3B and the MiMo slice, one round of gpt-oss-120b and the
# Qwen3-235B-A22B slice; new = working tree (build/), old = HEAD's linear.cu (/tmp/build-o42).
set -u
source .devdeps/on-device.sh
R=/tmp/s42e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42e.tgz -C /tmp s42e' EXIT
[ -x /tmp/build-o42/bin/tachyon ] && [ -x build/bin/tachyon ] || { echo "builds missing"; exit 1; }
declare -A BIN=([old]=/tmp/build-o42/bin/tachyon [new]=build/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for m in qwen3-30b-a3b mimo-v2.5-pro-slice gpt-oss-120b qwen3-235b-a22b; do
  r=2; case $m in gpt-oss-120b|qwen3-235b-a22b) r=1;; esac
  for v in old new; do
    [ $(( $(date +%s) - t0 )) -gt 540 ] && break
    timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
