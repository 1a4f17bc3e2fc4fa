#!/usr/bin/env bash
# s31b (one H200): FP8 linears at 3-16 rows with split x (three E4M3 parts on the FP8 tensor cores): linear tests,
# kernel bench (split x and BF16 x rows), step A/B (--no-fp8-split-x), then the step/generate tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s31b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s31b.tgz -C /tmp s31b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 120 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B4 -A10 "ERROR" $R/tests-linear.txt | head -60
timeout 150 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "bench rc $?"
grep -E "fp8.*m=(8|9) " $R/kernels-linear.txt | cut -c1-190
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in on off; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    flag=""; [ $v = off ] && flag="--no-fp8-split-x"
    timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $flag > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
T=$(( 560 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
