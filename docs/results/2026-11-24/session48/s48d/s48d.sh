#!/usr/bin/env bash
# s48d (one GPU): as s48c, with the group rule by CTAs (group_tiles_for: one wave of two CTAs an SM, 2-9 n-tiles a group);
# against groups of 16 rows along grid y (the committed launch), same binary, TACHYON_EXP_SPLIT_WIDE=1 / 0, interleaved;
# GPU linear cases with it on; a MiMo slice 8 x 9 timeline with it on.
set -u
source .devdeps/on-device.sh
R=/tmp/s48d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48d.tgz -C /tmp s48d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b qwen3-30b-a3b; do
    for v in 1 0; do
      TACHYON_EXP_SPLIT_WIDE=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2,4,8 --tokens 9 --reps 20 > $R/step-$m-wide$v-r$r.txt 2>&1
      echo "$m wide=$v r$r: $(grep '^| ' $R/step-$m-wide$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
for v in 1 0; do
  TACHYON_EXP_SPLIT_WIDE=$v timeout 100 build/bin/tachyon bench step --model qwen3-235b-a22b --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl-wide$v.json > $R/tl-step-wide$v.txt 2>&1
  echo "timeline wide=$v: $(grep -E 'linear_split_x' $R/tl-step-wide$v.txt | head -2 | tr '\n' ' ')"
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
