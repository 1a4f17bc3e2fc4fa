#!/usr/bin/env bash
# s49c (one GPU): the row-stream linear's load cursor, third version (one FP8 scale a step, the host taking the cursor only where a warp's 4 rows share a scale block;
# kept as loaded), three variants in one binary: TACHYON_EXP_LS=old (per-step loads), new (the cursor everywhere), auto
# (the cursor where a CTA streams more steps than its ring holds before the wait). GPU linear cases under new and auto,
# the linear kernel bench with digests, 1 x 1 / 2 x 1 steps of four models, two rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s49c; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49c.tgz -C /tmp s49c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
B=build/bin/tachyon
for v in new auto; do
  TACHYON_EXP_LS=$v timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*" > $R/tests-$v.txt 2>&1; echo "tests $v rc $? $(grep -E 'test cases|assertions' $R/tests-$v.txt | tail -2 | tr '\n' ' ') $(el)"
  grep -m5 -A8 ERROR $R/tests-$v.txt
done
for r in 1 2; do
  for v in old new auto; do
    TACHYON_EXP_LS=$v TACHYON_BENCH_DIGEST=1 timeout 120 $B bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1
    echo "kbench $v r$r rc $? $(el)"
  done
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b qwen3-235b-a22b gpt-oss-120b; do
    for v in old new auto; do
      TACHYON_EXP_LS=$v timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
rm -f $R/*.log
echo "total $(el)"
