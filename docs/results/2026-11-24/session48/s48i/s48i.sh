#!/usr/bin/env bash
# s48i (one GPU): the committed code (HEAD) on the whole-step table of "Where things stand": four models, 1-8 x 1-9,
# two rounds; the MiMo slice's 1 x 9 and 8 x 9 timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s48i; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48i.tgz -C /tmp s48i' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s $(git rev-parse --short HEAD 2>/dev/null)"
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice gpt-oss-120b qwen3-235b-a22b; do
    timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-r$r.txt 2>&1
    echo "$m r$r: $(grep '^| ' $R/step-$m-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s (%s) ", $5, $7, $14}') $(( $(date +%s) - t0 )) s"
  done
done
timeout 120 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-mimo.txt 2>&1
rm -f $R/*.json $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
