#!/usr/bin/env bash
# s36c (one H200): attention's phases inside the step (a probe build: -DTACHYON_ATTN_PROBE, globaltimer stamps of each CTA's
# thread 0), MiMo slice and Qwen3-30B-A3B at 1 x 1, and the attention kernel bench for comparison.
set -u
source .devdeps/on-device.sh
R=/tmp/s36c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36c.tgz -C /tmp s36c' EXIT
cmake -S . -B /tmp/bprobe -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-DTACHYON_ATTN_PROBE -DCMAKE_CUDA_FLAGS=-DTACHYON_ATTN_PROBE > $R/cmake.log 2>&1 && cmake --build /tmp/bprobe -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  L=70; [ $m = qwen3-30b-a3b ] && L=48
  TACHYON_ATTN_PROBE_OUT=$R/probe-$m.bin timeout 100 /tmp/bprobe/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/step-$m.txt 2>&1
  grep -E '^\| (mimo|qwen)' $R/step-$m.txt | cut -d'|' -f5,7,13,14
  python3 .dev/attn_probe.py $R/probe-$m.bin $L 20 > $R/probe-$m.txt 2>&1; grep -vE "p10 +0.0[0-9], p90 +0.0" $R/probe-$m.txt | cut -c1-60; rm -f $R/probe-$m.bin
done
echo "total $(( $(date +%s) - t0 )) s"
