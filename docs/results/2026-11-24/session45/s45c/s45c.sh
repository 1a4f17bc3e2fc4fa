#!/usr/bin/env bash
# s45c (one GPU): the GPU-vs-CPU generate case with --batch-invariant; speculative against plain on the default pair,
# default mode and --batch-invariant (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s45c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45c.tgz -C /tmp s45c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives the CPU*" > $R/gen.txt 2>&1; echo "gen rc $? $(grep -E 'test cases|assertions' $R/gen.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A4 ERROR $R/gen.txt
python3 scripts/bench/python_prompts.py --out $R/prompts.jsonl > /dev/null
for mode in default invariant; do
  extra=""; [ $mode = invariant ] && extra="--batch-invariant"
  EXTRA="$extra" BLOCK=8 timeout 150 bash scripts/bench/spec_vs_plain.sh build/bin/tachyon $R/svp-$mode model/default/target.h5 model/default/drafter.h5 $R/prompts.jsonl > $R/svp-$mode.txt 2>&1
  echo "svp $mode rc $?"; tail -4 $R/svp-$mode.txt
done
echo "total $(( $(date +%s) - t0 )) s"
