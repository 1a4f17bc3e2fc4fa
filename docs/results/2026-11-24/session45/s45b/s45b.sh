#!/usr/bin/env bash
# s45b (one GPU): batch-invariant mode after the first fixes: build, the invariance cases and the linear/moe cases,
# then the step at Qwen3-30B-A3B's and the default target's shapes, default mode against --batch-invariant (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s45b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45b.tgz -C /tmp s45b' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="*batch invariance*,*batch-invariant*" > $R/inv.txt 2>&1; echo "invariance rc $? $(grep -E 'test cases|assertions' $R/inv.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -E "ERROR|differ|MESSAGE|outside|logged" $R/inv.txt | head -50
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,gpu moe*" -tce="*batch invariance*" > $R/lm.txt 2>&1; echo "linear+moe rc $? $(grep -E 'test cases|assertions' $R/lm.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
for mode in default invariant; do
  flag=""; [ $mode = invariant ] && flag="--batch-invariant"
  timeout 150 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $flag > $R/step-q-$mode.txt 2>&1
  echo "qwen $mode: $(grep '^| qwen' $R/step-q-$mode.txt | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}')"
  timeout 60 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --reps 20 $flag > $R/step-d-$mode.txt 2>&1
  echo "default $mode: $(grep '^| ' $R/step-d-$mode.txt | grep -v -- '---' | tail -4 | awk -F'|' '{printf "%s=%s ", $5, $7}')"
done
echo "total $(( $(date +%s) - t0 )) s"
