#!/usr/bin/env bash
# s38a (one H200): the committed code (1fcc12a): kernel timelines of every step shape, both models.
set -u
source .devdeps/on-device.sh
R=/tmp/s38a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38a.tgz -C /tmp s38a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
  timeout 200 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --timeline $R/tl-$m.json > $R/tl-$m.log 2>&1
  echo "$m rc $? $(( $(date +%s) - t0 )) s"; grep "^| $m" $R/tl-$m.log
done
echo "total $(( $(date +%s) - t0 )) s"
