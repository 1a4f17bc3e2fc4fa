#!/usr/bin/env bash
# s48e (one GPU): the wide split-x router kernel with its x loads through a shared-memory ring of 8 units a warp (cp.async;
# TACHYON_EXP_SPLIT_RING=1) against the committed register ring of 3 (=0), same binary, interleaved; GPU linear cases with
# it on; a MiMo slice 8 x 9 timeline with it on; then every GPU case with it off (the committed code, 8f1013f + 2a9eaf5).
set -u
source .devdeps/on-device.sh
R=/tmp/s48e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48e.tgz -C /tmp s48e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_EXP_SPLIT_RING=1 timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-ring.txt 2>&1; echo "linear tests (ring) rc $? $(grep -E 'test cases|assertions' $R/tests-ring.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests-ring.txt
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
    for v in 1 0; do
      TACHYON_EXP_SPLIT_RING=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 2,4,8 --tokens 9 --reps 20 > $R/step-$m-ring$v-r$r.txt 2>&1
      echo "$m ring=$v r$r: $(grep '^| ' $R/step-$m-ring$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
TACHYON_EXP_SPLIT_RING=1 timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl-ring1.json > $R/tl-step-ring1.txt 2>&1
echo "timeline ring=1: $(grep -E 'linear_split_x' $R/tl-step-ring1.txt | head -2 | tr '\n' ' ')"
rm -f $R/*.json
timeout 320 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "all GPU tests (ring off) rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
