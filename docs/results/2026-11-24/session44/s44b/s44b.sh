#!/usr/bin/env bash
# s44b (one GPU): end-to-end `tachyon generate` against the step (scripts/bench/generate_vs_step.sh, Qwen3-30B-A3B shape,
# random checkpoint), and the embedded default pair on the GPU, plain and with its drafter (the demo's prompts).
set -u
source .devdeps/on-device.sh
R=/tmp/s44b; mkdir -p $R
t0=$(date +%s)
trap 'rm -f $R/gvs/*.h5; tar czf $OUT/s44b.tgz -C /tmp s44b' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
if [ ! -x build/bin/tachyon ]; then
  cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
fi
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
for mode in plain spec; do
  extra=(); [ $mode = spec ] && extra=(--drafter model/default/drafter.h5 --block-size 8)
  for b in 1 8; do
    timeout 120 $B generate --model model/default/target.h5 "${extra[@]}" --prompts scripts/demo/prompts.jsonl --out $R/default-$mode-b$b.jsonl \
      --device cuda --max-batch $b --progress off --metrics-json $R/default-$mode-b$b.json > $R/default-$mode-b$b.log 2>&1
    echo "default $mode b$b rc $?: $(grep -E 'summary:' $R/default-$mode-b$b.log | sed 's/.*summary: //')"
  done
done
echo "default $(( $(date +%s) - t0 )) s"
timeout 420 bash scripts/bench/generate_vs_step.sh $B $R/gvs > $R/gvs.txt 2>&1; echo "gvs rc $?"; cat $R/gvs.txt | tail -8
grep -h "weights loaded\|done:" $R/gvs/generate-*.log
echo "total $(( $(date +%s) - t0 )) s"
