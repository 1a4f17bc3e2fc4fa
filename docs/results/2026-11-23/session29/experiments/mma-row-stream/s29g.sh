#!/usr/bin/env bash
# s29g (one H200): the row stream's tensor-core kernel (3-16 rows): tests, kernel bench (both paths a row), step A/B.
set -u
source .devdeps/on-device.sh
R=/tmp/s29g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29g.tgz -C /tmp s29g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -50
timeout 120 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "kernel bench rc $?"
grep -E "m=(7|8|9|14|16) |copy" $R/kernels-linear.txt | cut -d"|" -f2,4,5,7 | tr -s ' ' | head -80
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in on off; do
  f=""; [ $v = off ] && f="--no-linear-stream"
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $f > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
T=$(( 560 - ($(date +%s) - t0) ))
echo "step/generate/drafter/speculative tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*,*speculative*" > $R/tests-step.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
