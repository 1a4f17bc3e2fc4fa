#!/usr/bin/env bash
# s38f (one H200): experiment switches on attention's plan for global (windowless) layers: key groups a CTA
# (TACHYON_EXP_ATTN_KW), clusters a row block (TACHYON_EXP_ATTN_OUTER). Qwen3-30B-A3B's step, two rounds, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s38f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38f.tgz -C /tmp s38f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in base kw2 kw4 o1 o2 o4 o8 kw2o4 kw4o2; do
    E=""
    case $v in kw2) E="TACHYON_EXP_ATTN_KW=2";; kw4) E="TACHYON_EXP_ATTN_KW=4";; o*) E="TACHYON_EXP_ATTN_OUTER=${v#o}";;
      kw2o4) E="TACHYON_EXP_ATTN_KW=2 TACHYON_EXP_ATTN_OUTER=4";; kw4o2) E="TACHYON_EXP_ATTN_KW=4 TACHYON_EXP_ATTN_OUTER=2";; esac
    m=qwen3-30b-a3b
    env $E timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt $m) rc $?"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
