#!/usr/bin/env bash
# s29a (one H200): the row-stream linear: tests, kernel bench (both paths a row, same binary), step A/B.
set -u
source .devdeps/on-device.sh
R=/tmp/s29a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29a.tgz -C /tmp s29a' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-linear.txt | head -60
timeout 120 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "kernel bench rc $?"
grep -E "lm_head|copy bandwidth" $R/kernels-linear.txt | grep -E "m=1 |m=2 |copy" | head -40
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in auto never; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    left 480 || continue
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 --linear-stream $v > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
echo "total $(( $(date +%s) - t0 )) s"
