#!/usr/bin/env bash
# s36f (one H200, probe build): attention's q loads done twice (L2 only) and stamped after each, in the step (MiMo slice,
# Qwen3-30B-A3B at 1 x 1) and in the kernel bench's first row (MiMo SWA decode, batch 1: the same kernel back to back).
set -u
source .devdeps/on-device.sh
R=/tmp/s36f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36f.tgz -C /tmp s36f' EXIT
cmake -S . -B /tmp/bprobe -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-DTACHYON_ATTN_PROBE -DCMAKE_CUDA_FLAGS=-DTACHYON_ATTN_PROBE > $R/cmake-probe.log 2>&1 && cmake --build /tmp/bprobe -j 16 --target tachyon > $R/build-probe.log 2>&1 || { grep -B2 -A12 "error" $R/build-probe.log | head -60; exit 1; }
echo "probe build $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  L=70; [ $m = qwen3-30b-a3b ] && L=48
  TACHYON_ATTN_PROBE_OUT=$R/probe.bin timeout 100 /tmp/bprobe/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/pstep-$m.txt 2>&1
  python3 .dev/attn_probe.py $R/probe.bin $L 20 > $R/probe-$m.txt 2>&1; rm -f $R/probe.bin
  echo "== $m $(row $R/pstep-$m.txt)"; grep -E "^C=|first wait out -> last|med CTA: (q|tiles|kw|cluster|tail)" $R/probe-$m.txt | cut -c1-58
done
TACHYON_ATTN_PROBE_OUT=$R/probe.bin timeout 100 /tmp/bprobe/bin/tachyon bench kernels --only attention > $R/kbench.txt 2>&1
grep "attention decode" $R/kbench.txt | head -2
python3 .dev/attn_probe.py $R/probe.bin 1 200 > $R/probe-kbench.txt 2>&1; rm -f $R/probe.bin
echo "== kernel bench"; grep -E "^C=|first wait out -> last|launch span|med CTA" $R/probe-kbench.txt | cut -c1-58
echo "total $(( $(date +%s) - t0 )) s"
