#!/usr/bin/env bash
# s46e (one GPU): how the random weights' embedding scale spreads a verify block's routing (experiment switch
# TACHYON_BENCH_EMBED_STD, the embedding's standard deviation; 1 = the committed weights): Qwen3-30B-A3B and the MiMo
# slice at 1 x 9 and 8 x 1, touched experts against expected, step time and roofline.
set -u
source .devdeps/on-device.sh
R=/tmp/s46e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46e.tgz -C /tmp s46e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for e in 1 4 16 64; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    TACHYON_BENCH_EMBED_STD=$e timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-e$e.txt 2>&1
    echo "embed std $e $m: $(grep '^| ' $R/step-$m-e$e.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s: %s us, %s, x%s; ", $5, $7, $9, $14}') $(( $(date +%s) - t0 )) s"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
