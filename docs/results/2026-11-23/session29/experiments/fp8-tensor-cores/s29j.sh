#!/usr/bin/env bash
# s29j (one H200): the FP8 row stream on the tensor cores (x split in three FP16 parts) against the FMA kernel
# (TACHYON_FP8_STREAM_FMA=1), same binary: tests, kernel bench, step A/B, then the step/generate tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s29j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29j.tgz -C /tmp s29j' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -50
for r in 1 2; do
  timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-mma-r$r.txt 2>&1
  TACHYON_FP8_STREAM_FMA=1 timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-fma-r$r.txt 2>&1
done
echo "fp8 stream rows (shape | mma r1 | fma r1 | mma r2 | fma r2 (%)):"
paste -d'|' <(grep "linear fp8 |" $R/kernels-linear-mma-r1.txt | grep -E "m=(1|2) " | cut -d'|' -f4,5) <(grep "linear fp8 |" $R/kernels-linear-fma-r1.txt | grep -E "m=(1|2) " | cut -d'|' -f5) <(grep "linear fp8 |" $R/kernels-linear-mma-r2.txt | grep -E "m=(1|2) " | cut -d'|' -f5,7) <(grep "linear fp8 |" $R/kernels-linear-fma-r2.txt | grep -E "m=(1|2) " | cut -d'|' -f5,7)
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in mma fma; do
  if [ $v = fma ]; then export TACHYON_FP8_STREAM_FMA=1; else unset TACHYON_FP8_STREAM_FMA; fi
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
unset TACHYON_FP8_STREAM_FMA
T=$(( 560 - ($(date +%s) - t0) ))
echo "step/generate/drafter/speculative tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*,*speculative*" > $R/tests-step.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
