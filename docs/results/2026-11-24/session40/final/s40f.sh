#!/usr/bin/env bash
# s40f (one H200): the session's final code (0494a3a + docs): the whole GPU test binary; the step of both models at 1 x 1 / 1 x 9 /
# 8 x 1 / 8 x 9, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s40f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40f.tgz -C /tmp s40f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 330 build/tests/tachyon_gpu_tests > $R/tests-all.txt 2>&1; echo "all GPU tests rc $? $(grep -E 'test cases|assertions' $R/tests-all.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-all.txt | head -40
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-r$r.txt" 2>&1; echo "r$r $m: $(row $R/step-$m-r$r.txt $m)"; done
done
echo "total $(( $(date +%s) - t0 )) s"
