#!/usr/bin/env bash
# s44c (one GPU): the embedded default pair end to end, plain against speculative (scripts/bench/spec_vs_plain.sh),
# 64 prompts cut from the machine's Python stdlib, 256 tokens each, batch 1 and 8, blocks 8 and 4.
set -u
source .devdeps/on-device.sh
R=/tmp/s44c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44c.tgz -C /tmp s44c' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
python3 --version
if [ ! -x build/bin/tachyon ]; then
  cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
fi
echo "build $(( $(date +%s) - t0 )) s"
for block in 8 4; do
  BLOCK=$block timeout 240 bash scripts/bench/spec_vs_plain.sh build/bin/tachyon $R/block$block > $R/block$block.txt 2>&1; echo "block $block rc $? $(( $(date +%s) - t0 )) s"
  tail -4 $R/block$block.txt
done
grep -h "speculative:" $R/block*/generate-spec-*.log
echo "total $(( $(date +%s) - t0 )) s"
