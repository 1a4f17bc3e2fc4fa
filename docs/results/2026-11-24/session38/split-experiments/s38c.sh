#!/usr/bin/env bash
# s38c (one H200): choose_split with a per-item overhead of X k-iterations (TACHYON_EXP_GU_SPLIT=-X, TACHYON_EXP_DN_SPLIT=-X),
# and forced K splits of the persistent down (TACHYON_EXP_DN_SPLIT=S). Step bench, two rounds, variants interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s38c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38c.tgz -C /tmp s38c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in base gu2 gu3 gu5 dn2 dn3 dn5 dns1 dns2 dns8; do
    E=""
    case $v in gu*) E="TACHYON_EXP_GU_SPLIT=-${v#gu}";; dns*) E="TACHYON_EXP_DN_SPLIT=${v#dns}";; dn*) E="TACHYON_EXP_DN_SPLIT=-${v#dn}";; esac
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      env $E timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
