#!/usr/bin/env bash
# s50c: the row stream's two shapes chosen per launch (choose_shape: 3 CTAs an SM 2 steps ahead, or 2 CTAs 4 steps ahead)
# against the deep ring everywhere (TACHYON_STREAM_SHAPE=deep, the committed shape), one binary: GPU tests, linear kernel
# bench with digests, 1 x 1 / 2 x 1 steps of four models interleaved, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s50c; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s50c.tgz -C /tmp s50c' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -60; exit 1; }
echo "build $(el)"
for r in 1 2; do
  for v in deep auto; do
    TACHYON_STREAM_SHAPE=$v TACHYON_BENCH_DIGEST=1 timeout 120 build/bin/tachyon bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1; echo "kbench $v r$r rc $? $(el)"
  done
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b gpt-oss-120b qwen3-235b-a22b; do
    for v in deep auto; do
      TACHYON_STREAM_SHAPE=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(tail -3 $R/tests-linear.txt | tr '\n' ' ') $(el)"
grep -B3 -A8 "ERROR\|FAILED" $R/tests-linear.txt | head -40
timeout 170 build/tests/tachyon_gpu_tests -tc="cuda step*,*generate*,cuda drafter*" > $R/tests-step.txt 2>&1; echo "step tests rc $? $(tail -3 $R/tests-step.txt | tr '\n' ' ') $(el)"
rm -f $R/*.log
echo "total $(el)"
