#!/usr/bin/env bash
# s39c (one H200): linear_stream_qkv with the next launch triggered late (TACHYON_EXP_QKV_LATE=1: after the row loop,
# before the cluster barrier; 2: at the CTAs' exits) against the trigger at the wait and --no-fused-qkv-prepare, same
# binary, two rounds interleaved; timelines of Qwen3-30B-A3B 1 x 1 separate and late=1.
set -u
source .devdeps/on-device.sh
R=/tmp/s39c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39c.tgz -C /tmp s39c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in sep fused late1 late2; do
    f=""; unset TACHYON_EXP_QKV_LATE
    [ $v = sep ] && f="--no-fused-qkv-prepare"; [ $v = late1 ] && export TACHYON_EXP_QKV_LATE=1; [ $v = late2 ] && export TACHYON_EXP_QKV_LATE=2
    m=qwen3-30b-a3b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    m=gpt-oss-120b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
  done
done
unset TACHYON_EXP_QKV_LATE
timeout 120 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --no-fused-qkv-prepare --timeline $R/tl.json > $R/tl-qwen-sep.txt 2>&1
TACHYON_EXP_QKV_LATE=1 timeout 120 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl.json > $R/tl-qwen-late1.txt 2>&1
for f in sep late1; do echo "== $f"; grep -A12 "Kernel timeline" $R/tl-qwen-$f.txt | grep "^| [a-z]" | head -9; done; rm -f $R/tl.json
echo "total $(( $(date +%s) - t0 )) s"
