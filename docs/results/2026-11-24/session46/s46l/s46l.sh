#!/usr/bin/env bash
# s46l (one GPU): the default target's step (0b91b55) under each of the step bench's path switches, same binary, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s46l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46l.tgz -C /tmp s46l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for round in 1 2; do
  for f in none --no-fused-norm-router --no-fused-combine --no-down-tail --no-one-token-moe "--few-token-down always" "--few-token-down never" "--gate-up-token-table always" "--gate-up-token-table never" --no-linear-stream; do
    flags=""; [ "$f" != none ] && flags="$f"
    n=$(echo "$f" | tr -d ' -')
    timeout 60 build/bin/tachyon bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --reps 30 $flags > $R/step-$n-r$round.txt 2>&1
    echo "r$round $f: $(grep '^| ' $R/step-$n-r$round.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
