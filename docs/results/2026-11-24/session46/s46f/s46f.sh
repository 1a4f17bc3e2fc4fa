#!/usr/bin/env bash
# s46f (one GPU): the random weights' residual projections (o_proj, down) scaled (experiment switch
# TACHYON_BENCH_RESID_SCALE), with and without a larger embedding (TACHYON_BENCH_EMBED_STD): does a verify block of the
# MiMo slice then touch the experts uniform routing would?
set -u
source .devdeps/on-device.sh
R=/tmp/s46f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46f.tgz -C /tmp s46f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for cfg in "1 0.0845" "4 0.0845" "4 0.3" "4 1"; do
  set -- $cfg
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    TACHYON_BENCH_EMBED_STD=$1 TACHYON_BENCH_RESID_SCALE=$2 timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-e$1-r$2.txt 2>&1
    echo "embed $1 resid $2 $m: $(grep '^| ' $R/step-$m-e$1-r$2.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s: %s us, %s, x%s; ", $5, $7, $9, $14}') $(( $(date +%s) - t0 )) s"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
