#!/usr/bin/env bash
# s35a (one H200): (1) probe: G CTAs staging one 24 KB row from the L2 (same row / own copy / DSMEM cluster 8 / bulk copy /
# multicast cluster 8); (2) one-token gate_up with x staged before the PDL wait against after (TACHYON_EXP_X_LATE), same binary:
# moe tests, step 1 x 1 two rounds, timeline at 1 x 1 for both.
set -u
source .devdeps/on-device.sh
R=/tmp/s35a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s35a.tgz -C /tmp s35a' EXIT
(cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 15 > $R/build.log 2>&1) &
BP=$!
nvcc -O3 --generate-code=arch=compute_90a,code=sm_90a -std=c++20 .dev/xstage_probe.cu -o /tmp/xstage_probe > $R/probe-build.log 2>&1 || cat $R/probe-build.log
/tmp/xstage_probe > $R/probe.txt 2>&1; cat $R/probe.txt
wait $BP || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in early late; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    if [ $v = late ]; then export TACHYON_EXP_X_LATE=1; else unset TACHYON_EXP_X_LATE; fi
    timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
unset TACHYON_EXP_X_LATE
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-early.txt > $R/tl-early.log 2>&1
grep -A12 'Kernel timeline' $R/tl-early.log | head -14
TACHYON_EXP_X_LATE=1 timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-late.txt > $R/tl-late.log 2>&1
grep -A12 'Kernel timeline' $R/tl-late.log | head -14
echo "total $(( $(date +%s) - t0 )) s"
