#!/usr/bin/env bash
# s38k (one H200): an experiment switch (TACHYON_EXP_GU_COST=X) giving the register-ring gate_up configurations (8 warps depth 4,
# 16 warps depth 2; not block columns) choose_split's cost of X k-iterations an item. Qwen3-235B-A22B's slice (K = 4096), two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s38k; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38k.tgz -C /tmp s38k' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do for v in base c2 c4; do
  E=""; case $v in c*) E="TACHYON_EXP_GU_COST=${v#c}";; esac
  m=qwen3-235b-a22b; env $E timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m rc $?: $(row $R/step-$m-$v-r$r.txt $m)"
done; done
echo "total $(( $(date +%s) - t0 )) s"
