#!/usr/bin/env bash
# s46g (one GPU): the step bench's token ids from rank 0's vocabulary rows (new, the working tree) against the whole
# vocabulary (base: .dev/s46g.diff undone): the MiMo slice and Qwen3-235B-A22B's slice (one GPU of an 8-way plan),
# Qwen3-30B-A3B (whole model: the same ids); the new MiMo slice's 1 x 9 timeline.
set -u
source .devdeps/on-device.sh
R=/tmp/s46g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46g.tgz -C /tmp s46g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s46g.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
for m in mimo-v2.5-pro-slice qwen3-235b-a22b qwen3-30b-a3b; do
  for v in base new; do
    B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
    timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v.txt 2>&1
    echo "$v $m: $(grep '^| ' $R/step-$m-$v.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s: %s us, %s, roof %s x%s; ", $5, $7, $9, $13, $14}') $(( $(date +%s) - t0 )) s"
  done
done
timeout 120 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl-mimo-new.json > $R/tl-mimo-new.txt 2>&1
grep -A22 "1 x 9 (seqs" $R/tl-mimo-new.txt | head -24
echo "total $(( $(date +%s) - t0 )) s"
