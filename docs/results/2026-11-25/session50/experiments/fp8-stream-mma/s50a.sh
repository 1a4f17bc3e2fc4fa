#!/usr/bin/env bash
# s50a: FP8 row stream at one row on the tensor cores (kMma, TACHYON_FP8_STREAM_MMA=1, the default in this build) against
# the FMA path (=0), one binary: GPU linear + step tests, the linear kernel bench with digests, 1 x 1 steps interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s50a; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s50a.tgz -C /tmp s50a' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -60; exit 1; }
echo "build $(el)"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(tail -3 $R/tests-linear.txt | tr '\n' ' ') $(el)"
grep -B3 -A8 "ERROR\|FAILED" $R/tests-linear.txt | head -60
timeout 150 build/tests/tachyon_gpu_tests -tc="cuda step*,*generate*" > $R/tests-step.txt 2>&1; echo "step tests rc $? $(tail -3 $R/tests-step.txt | tr '\n' ' ') $(el)"
for v in 1 0; do
  TACHYON_FP8_STREAM_MMA=$v TACHYON_BENCH_DIGEST=1 timeout 120 build/bin/tachyon bench kernels --only linear > $R/klin-mma$v.txt 2>&1; echo "kbench mma=$v rc $? $(el)"
done
grep -i "fp8" $R/klin-mma1.txt | head -5
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    for v in 0 1; do
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break 3
      TACHYON_FP8_STREAM_MMA=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 > $R/step-$m-mma$v-r$r.txt 2>&1
      echo "$m mma=$v r$r: $(grep '^| ' $R/step-$m-mma$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
rm -f $R/*.log
echo "total $(el)"
