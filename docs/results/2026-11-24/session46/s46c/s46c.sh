#!/usr/bin/env bash
# s46c (one GPU): the row-stream linear's K-slice rule by the busiest SM (experiment switch TACHYON_LS_VARIANT: 0 the
# committed rule, 1 a slice count whose busiest SM has a tenth fewer rows, 2 as 1 with one CTA an SM), same binary,
# Qwen3-30B-A3B and the MiMo slice at 1 x 1 and 2 x 1, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s46c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46c.tgz -C /tmp s46c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for round in 1 2; do
for v in 0 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    TACHYON_LS_VARIANT=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 > $R/step-$m-v$v-r$round.txt 2>&1
    echo "r$round v$v $m: $(grep '^| ' $R/step-$m-v$v-r$round.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
  done
done
done
echo "total $(( $(date +%s) - t0 )) s"
