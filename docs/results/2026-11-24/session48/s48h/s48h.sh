#!/usr/bin/env bash
# s48h (one GPU): the split-x router's cluster reduction asking for every rank's partial before its first add (new) against
# the loads one after another (TACHYON_EXP_SPLIT_SERIAL=1, the committed code's loop), same binary, interleaved; GPU linear
# cases both ways; MiMo slice 1 x 9 timelines both ways.
set -u
source .devdeps/on-device.sh
R=/tmp/s48h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48h.tgz -C /tmp s48h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for v in 0 1; do
  TACHYON_EXP_SPLIT_SERIAL=$v timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-serial$v.txt 2>&1; echo "linear tests serial=$v rc $? $(grep -E 'test cases|assertions' $R/tests-serial$v.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
  grep -m5 -A8 ERROR $R/tests-serial$v.txt
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b qwen3-30b-a3b; do
    for v in 0 1; do
      TACHYON_EXP_SPLIT_SERIAL=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-serial$v-r$r.txt 2>&1
      echo "$m serial=$v r$r: $(grep '^| ' $R/step-$m-serial$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
for v in 0 1; do
  TACHYON_EXP_SPLIT_SERIAL=$v timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-step-serial$v.txt 2>&1
  echo "timeline serial=$v: $(grep -E 'linear_split_x' $R/tl-step-serial$v.txt | head -2 | tr '\n' ' ')"
done
rm -f $R/*.json $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
