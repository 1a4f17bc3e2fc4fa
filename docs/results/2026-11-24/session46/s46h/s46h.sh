#!/usr/bin/env bash
# s46h (one GPU): with the step bench's realistic token ids (a9 fix), the expert-GEMM switches at the verify shapes of the
# two 8-way slices: --few-token-down auto|always x --gate-up-token-table auto|always|never, same binary, 1 x 9 and 8 x 9.
set -u
source .devdeps/on-device.sh
R=/tmp/s46h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46h.tgz -C /tmp s46h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
  for fd in auto always; do
    for tt in auto always never; do
      timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 --few-token-down $fd --gate-up-token-table $tt > $R/step-$m-fd$fd-tt$tt.txt 2>&1
      echo "$m fd=$fd tt=$tt: $(grep '^| ' $R/step-$m-fd$fd-tt$tt.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s: %s us x%s; ", $5, $7, $14}') $(( $(date +%s) - t0 )) s"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
