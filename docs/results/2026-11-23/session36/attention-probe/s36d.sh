#!/usr/bin/env bash
# s36d (one H200): attention's trigger of the next launch (TACHYON_ATTN_TRIGGER, an experiment switch: 0 after the wait as
# committed, 1 after the key tiles, 2 at the kernel's end): step tests at 2, the step at 1 x 1 / 1 x 9 two rounds, and the
# probe build's phases at 0 and 2.
set -u
source .devdeps/on-device.sh
R=/tmp/s36d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36d.tgz -C /tmp s36d' EXIT
(cmake -S . -B /tmp/bprobe -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-DTACHYON_ATTN_PROBE -DCMAKE_CUDA_FLAGS=-DTACHYON_ATTN_PROBE > $R/cmake-probe.log 2>&1 && cmake --build /tmp/bprobe -j 6 --target tachyon > $R/build-probe.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 12 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_ATTN_TRIGGER=2 timeout 150 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,gpu attention*" > $R/tests-t2.txt 2>&1; echo "attention+step+generate tests (trigger 2) rc $? $(grep -E 'test cases|assertions' $R/tests-t2.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in 0 1 2; do for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  TACHYON_ATTN_TRIGGER=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step-$m-t$v-r$r.txt" 2>&1; echo "r$r t$v $m: $(row $R/step-$m-t$v-r$r.txt)"
done; done; done
wait $BP; echo "probe build rc $? $(( $(date +%s) - t0 )) s"
for v in 0 2; do for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  L=70; [ $m = qwen3-30b-a3b ] && L=48
  TACHYON_ATTN_TRIGGER=$v TACHYON_ATTN_PROBE_OUT=$R/probe.bin timeout 100 /tmp/bprobe/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/pstep-$m-t$v.txt 2>&1
  python3 .dev/attn_probe.py $R/probe.bin $L 20 > $R/probe-$m-t$v.txt 2>&1; rm -f $R/probe.bin
  echo "== t$v $m $(row $R/pstep-$m-t$v.txt)"; grep -E "^C=|first wait out -> last|med CTA: (q|tiles|kw|cluster|tail)" $R/probe-$m-t$v.txt | cut -c1-58
done; done
echo "total $(( $(date +%s) - t0 )) s"
