#!/usr/bin/env bash
# s29e (2 x H200): the committed row stream (on/off switch): tests on 1 and 2 GPUs, kernel bench, step A/B on 1 and 2 GPUs.
set -u
source .devdeps/on-device.sh
R=/tmp/s29e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29e.tgz -C /tmp s29e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
nvidia-smi -L
timeout 120 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-linear.txt | head -40
timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "kernel bench rc $?"
grep -E "router|copy" $R/kernels-linear.txt | grep -E "m=1 |m=2 |copy" | cut -d"|" -f2,4,5,7 | tr -s ' '
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f3,5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in on off; do
  f=""; [ $v = off ] && f="--no-linear-stream"
  CUDA_VISIBLE_DEVICES=0,1 timeout 100 mpirun -np 2 --bind-to none build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 $f > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "r$r $v 2gpu mimo: $(row $R/step2-mimo-$v-r$r.txt)"
  CUDA_VISIBLE_DEVICES=0 timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,2,8 --tokens 1 --reps 30 $f > "$R/step1-qwen-$v-r$r.txt" 2>&1
  echo "r$r $v 1gpu qwen: $(row $R/step1-qwen-$v-r$r.txt)"
done; done
T=$(( 540 - ($(date +%s) - t0) ))
echo "step/generate/drafter tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*" > $R/tests-step.txt 2>&1; echo "step+generate+drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-step.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
