#!/usr/bin/env bash
# s27d (one H200): the several-token down kernel with one n-tile for passes of <= 8 tokens: moe tests, the kernel
# bench's step rows, the step with and without --no-few-token-down (same binary, interleaved), a timeline.
set -u
source .devdeps/on-device.sh
R=/tmp/s27d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27d.tgz -C /tmp s27d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -40
for only in "MiMo-V2.5-Pro tp" "Qwen3-30B"; do
  TACHYON_MOE_BENCH_ONLY="$only" timeout 60 build/bin/tachyon bench kernels --only moe > "$R/kernels-moe-new-${only%% *}.txt" 2>&1
  echo "kernels new $only: rc $?"; grep -E "down.*step" "$R/kernels-moe-new-${only%% *}.txt" | cut -d'|' -f4,5,6,8 | cut -c1-120
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new off; do
  F=""; [[ $v == off ]] && F="--no-few-token-down"
  left 420 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    timeout 90 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $F > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  left 500 || continue
  timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 10 --context 1024 --timeline $R/tl-$m.json > "$R/step-tl-$m-new.txt" 2>&1
  echo "== timeline $m new rc $?"; grep -E '^\| moe_(down|mma)' $R/step-tl-$m-new.txt | cut -c1-150 | head -8
done
echo "total $(( $(date +%s) - t0 )) s"
