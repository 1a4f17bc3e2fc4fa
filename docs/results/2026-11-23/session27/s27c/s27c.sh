#!/usr/bin/env bash
# s27c (one H200): the several-token down kernel after the slot fix: moe tests, the kernel bench's step rows, and
# the step's kernel timeline with and without --no-few-token-down (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s27c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27c.tgz -C /tmp s27c' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -40
for only in "MiMo-V2.5-Pro tp" "Qwen3-30B"; do
  TACHYON_MOE_BENCH_ONLY="$only" timeout 60 build/bin/tachyon bench kernels --only moe > "$R/kernels-moe-new-${only%% *}.txt" 2>&1
  echo "kernels new $only: rc $?"; grep -E "down.*step" "$R/kernels-moe-new-${only%% *}.txt" | cut -d'|' -f4,5,6,8 | cut -c1-120
done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do for v in new off; do
  F=""; [[ $v == off ]] && F="--no-few-token-down"
  left 400 || continue
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 10 --context 1024 --timeline $R/tl-$m-$v.json $F > "$R/step-tl-$m-$v.txt" 2>&1
  echo "== $m $v rc $?"; grep -E '^\| (mimo|qwen)' $R/step-tl-$m-$v.txt | cut -d'|' -f5,7 | tr '\n' ' '; echo
  grep -E '^\| moe_(down|mma)|^#|shape' $R/step-tl-$m-$v.txt | cut -c1-150 | head -16
done; done
echo "total $(( $(date +%s) - t0 )) s"
