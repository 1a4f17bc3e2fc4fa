#!/usr/bin/env bash
# s49h (one GPU): the FP8 one-row cursor kernel of the row stream 5 steps deep (TACHYON_EXP_LSD=5) against 4, same binary,
# interleaved, two rounds: the linear kernel bench with digests, the MiMo slice's and gpt-oss-120b's 1 x 1 steps; GPU linear cases with it.
set -u
source .devdeps/on-device.sh
R=/tmp/s49h; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49h.tgz -C /tmp s49h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
B=build/bin/tachyon
TACHYON_EXP_LSD=5 timeout 100 build/tests/tachyon_gpu_tests -tc="gpu linear: the row stream*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(el)"
for r in 1 2; do
  for v in 4 5; do
    TACHYON_EXP_LSD=$v TACHYON_BENCH_DIGEST=1 timeout 60 $B bench kernels --only linear > $R/klin-d$v-r$r.txt 2>&1; echo "kbench d$v r$r: $(grep -E 'linear fp8 .*lm_head.*m=1 .row stream' $R/klin-d$v-r$r.txt | awk -F'|' '{printf "%s %s; ", $3, $5}') $(el)"
  done
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice gpt-oss-120b; do
    for v in 4 5; do
      [ $(( $(date +%s) - t0 )) -gt 300 ] && break 3
      TACHYON_EXP_LSD=$v timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/step-$m-d$v-r$r.txt 2>&1
      echo "$m d$v r$r: $(grep '^| ' $R/step-$m-d$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
rm -f $R/*.log
echo "total $(el)"
