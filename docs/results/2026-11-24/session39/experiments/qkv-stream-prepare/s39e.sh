#!/usr/bin/env bash
# s39e (one H200): where linear_stream_qkv's time goes (timing-only switches, wrong outputs): TACHYON_EXP_QKV_SKIP=1
# (the cluster barrier but no head preparation), =2 (neither: the rows' sums are dropped); TACHYON_EXP_LS_CLUSTER=4
# with --no-fused-qkv-prepare (every row-stream launch whose CTAs divide by 4 as clusters of 4, no preparation).
set -u
source .devdeps/on-device.sh
R=/tmp/s39e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39e.tgz -C /tmp s39e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in sep fused skip1 skip2 sepcl4; do
    f=""; unset TACHYON_EXP_QKV_SKIP TACHYON_EXP_LS_CLUSTER
    case $v in sep) f="--no-fused-qkv-prepare";; skip1) export TACHYON_EXP_QKV_SKIP=1;; skip2) export TACHYON_EXP_QKV_SKIP=2;;
      sepcl4) f="--no-fused-qkv-prepare"; export TACHYON_EXP_LS_CLUSTER=4;; esac
    m=qwen3-30b-a3b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 30 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
  done
done
for v in skip2 sepcl4; do
  f=""; unset TACHYON_EXP_QKV_SKIP TACHYON_EXP_LS_CLUSTER
  case $v in skip2) export TACHYON_EXP_QKV_SKIP=2;; sepcl4) f="--no-fused-qkv-prepare"; export TACHYON_EXP_LS_CLUSTER=4;; esac
  timeout 120 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 20 $f --timeline $R/tl.json > $R/tl-$v.txt 2>&1
  echo "== $v"; grep -A12 "Kernel timeline" $R/tl-$v.txt | grep "^| [a-z]" | head -9
done
rm -f $R/tl.json
echo "total $(( $(date +%s) - t0 )) s"
