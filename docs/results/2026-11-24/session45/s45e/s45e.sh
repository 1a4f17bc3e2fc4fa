#!/usr/bin/env bash
# s45e (one GPU): the review mend: every GPU case; Qwen3-30B-A3B's step default and --batch-invariant (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s45e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45e.tgz -C /tmp s45e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 360 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests.txt | head -40; grep -A1 MESSAGE $R/tests.txt | grep -i "invariant" | head
B=build/bin/tachyon
for mode in default invariant; do
  flag=""; [ $mode = invariant ] && flag="--batch-invariant"
  timeout 100 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $flag > $R/step-q-$mode.txt 2>&1
  echo "qwen $mode: $(grep '^| qwen' $R/step-q-$mode.txt | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}')"
done
echo "total $(( $(date +%s) - t0 )) s"
