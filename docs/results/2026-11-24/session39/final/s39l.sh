#!/usr/bin/env bash
# s39l (one H200): kernel timelines of the final code (Qwen3-30B-A3B at 1 x 1 / 1 x 9 / 8 x 1 / 8 x 9), for where the time goes now.
set -u
source .devdeps/on-device.sh
R=/tmp/s39l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39l.tgz -C /tmp s39l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --timeline $R/tl.json > $R/tl-qwen3-30b-a3b.log 2>&1; rm -f $R/tl.json
grep -A10 "Kernel timeline" $R/tl-qwen3-30b-a3b.log | grep -E "timeline|^\| [a-z]" | cut -c1-120
echo "total $(( $(date +%s) - t0 )) s"
