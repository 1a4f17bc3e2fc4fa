#!/usr/bin/env bash
# s39d (one H200): linear_stream_qkv's cluster placement: TACHYON_EXP_QKV_SPREAD (cluster scheduling policy spread),
# TACHYON_EXP_QKV_ROWS=64 (64-row CTAs, clusters of 2 at head_dim 128), against fused as committed-to-be and
# --no-fused-qkv-prepare; same binary, two rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s39d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39d.tgz -C /tmp s39d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 100 build/tests/tachyon_gpu_tests -tc="gpu linear_stream_qkv*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'assertions' $R/tests.txt | tail -1)"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in sep fused spread rows64 rows64spread late1spread; do
    f=""; unset TACHYON_EXP_QKV_LATE TACHYON_EXP_QKV_SPREAD TACHYON_EXP_QKV_ROWS
    case $v in sep) f="--no-fused-qkv-prepare";; spread) export TACHYON_EXP_QKV_SPREAD=1;; rows64) export TACHYON_EXP_QKV_ROWS=64;;
      rows64spread) export TACHYON_EXP_QKV_ROWS=64 TACHYON_EXP_QKV_SPREAD=1;; late1spread) export TACHYON_EXP_QKV_LATE=1 TACHYON_EXP_QKV_SPREAD=1;; esac
    m=qwen3-30b-a3b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    if [ $v = sep -o $v = fused -o $v = spread ]; then
    m=gpt-oss-120b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"; fi
  done
done
echo "total $(( $(date +%s) - t0 )) s"
