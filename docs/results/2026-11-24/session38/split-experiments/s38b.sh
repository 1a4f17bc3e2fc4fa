#!/usr/bin/env bash
# s38b (one H200): experiment switches on the persistent MXFP4 gate_up: its shared-memory ring 3 or 4 deep
# (TACHYON_EXP_GU_DEPTH), a forced K split (TACHYON_EXP_GU_SPLIT). Step bench, two rounds, variants interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s38b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38b.tgz -C /tmp s38b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in base d3 d4 s1 s2 s8 d4s2 d4s8; do
    E=""
    case $v in d3) E="TACHYON_EXP_GU_DEPTH=3";; d4) E="TACHYON_EXP_GU_DEPTH=4";; s1) E="TACHYON_EXP_GU_SPLIT=1";; s2) E="TACHYON_EXP_GU_SPLIT=2";;
      s8) E="TACHYON_EXP_GU_SPLIT=8";; d4s2) E="TACHYON_EXP_GU_DEPTH=4 TACHYON_EXP_GU_SPLIT=2";; d4s8) E="TACHYON_EXP_GU_DEPTH=4 TACHYON_EXP_GU_SPLIT=8";; esac
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      env $E timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
