#!/usr/bin/env bash
# s46b (one GPU): a probe of the row-stream linear inside Qwen3-30B-A3B's 1 x 1 step (.dev/s46b-probe.diff, applied to a
# copy): per-CTA globaltimer stamps; the step's timeline with and without the probe build.
set -u
source .devdeps/on-device.sh
R=/tmp/s46b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46b.tgz -C /tmp s46b' EXIT
mkdir -p /tmp/probe && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/probe && tar xf -)
cd /tmp/probe && patch -p1 < .dev/s46b-probe.diff > $R/patch.log && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
  TACHYON_LS_PROBE_OUT=$R/probe-$m.bin timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/step-$m.txt 2>&1
  echo "$m rc $?: $(grep '^| ' $R/step-$m.txt | tail -1)"
  python3 .dev/ls_probe.py $R/probe-$m.bin 1000 > $R/probe-$m.txt 2>&1; cat $R/probe-$m.txt
  timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m.json > $R/tl-$m.txt 2>&1
  grep -A14 "Kernel timeline" $R/tl-$m.txt | head -16
done
echo "total $(( $(date +%s) - t0 )) s"
