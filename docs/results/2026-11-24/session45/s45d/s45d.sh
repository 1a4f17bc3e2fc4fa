#!/usr/bin/env bash
# s45d (one GPU): the final code: every GPU case; the step of the default target and Qwen3-30B-A3B, default mode and
# --batch-invariant; speculative against plain on the default pair with --batch-invariant.
set -u
source .devdeps/on-device.sh
R=/tmp/s45d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45d.tgz -C /tmp s45d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 330 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests.txt | head -40; grep MESSAGE -A1 $R/tests.txt | grep -i "invariant" | head
B=build/bin/tachyon
for mode in default invariant; do
  flag=""; [ $mode = invariant ] && flag="--batch-invariant"
  timeout 60 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --reps 20 $flag > $R/step-d-$mode.txt 2>&1
  echo "default $mode: $(grep '^| ' $R/step-d-$mode.txt | grep -v -- '---' | tail -4 | awk -F'|' '{printf "%s=%s ", $5, $7}')"
done
python3 scripts/bench/python_prompts.py --out $R/prompts.jsonl > /dev/null
EXTRA=--batch-invariant BLOCK=8 timeout 120 bash scripts/bench/spec_vs_plain.sh $B $R/svp-invariant model/default/target.h5 model/default/drafter.h5 $R/prompts.jsonl > $R/svp-invariant.txt 2>&1
echo "svp invariant rc $?"; tail -3 $R/svp-invariant.txt
echo "total $(( $(date +%s) - t0 )) s"
