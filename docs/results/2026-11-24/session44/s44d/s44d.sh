#!/usr/bin/env bash
# s44d (one GPU): the embedded default target's own shape in `tachyon bench step --model model/default/target.h5`
# (random weights of its shape), plain and verify shapes, with the kernel timeline: where its verify step goes.
set -u
source .devdeps/on-device.sh
R=/tmp/s44d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44d.tgz -C /tmp s44d' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
for moe in tp; do
  timeout 150 $B bench step --model model/default/target.h5 --moe-parallel $moe --seqs 1,8 --tokens 1,8 --context 384 --reps 100 > $R/step-$moe.txt 2>&1
  echo "rc $?: $(grep '^| target' $R/step-$moe.txt | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}')"
done
timeout 150 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --context 384 --reps 20 --timeline $R/tl.json > $R/tl.txt 2>&1; echo "timeline rc $?"
grep -A24 "Kernel timeline" $R/tl.txt | grep -v "^$" | head -100
echo "total $(( $(date +%s) - t0 )) s"
