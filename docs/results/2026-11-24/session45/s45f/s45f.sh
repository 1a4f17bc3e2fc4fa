#!/usr/bin/env bash
# s45f (one GPU): where --batch-invariant loses at one token a step: Qwen3-30B-A3B timelines at 1 x 1 and 8 x 9, default
# and invariant (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s45f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45f.tgz -C /tmp s45f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
for mode in default invariant; do
  flag=""; [ $mode = invariant ] && flag="--batch-invariant"
  timeout 150 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --timeline $R/tl-$mode.json $flag > $R/tl-$mode.log 2>&1
  echo "$mode rc $?"
  grep -A14 "1 x 1 (seqs x tokens)" $R/tl-$mode.log | tail -11
done
echo "total $(( $(date +%s) - t0 )) s"
