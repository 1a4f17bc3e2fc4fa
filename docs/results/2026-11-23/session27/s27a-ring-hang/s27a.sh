#!/usr/bin/env bash
# s27a (one H200): the several-token down kernel (moe_down_few_tokens.cu): GPU tests, the moe kernel bench's step rows
# (new against the committed code's binary, old), the step on one GPU with and without --no-few-token-down (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s27a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27a.tgz -C /tmp s27a' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 8 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -60
timeout 240 build/tests/tachyon_gpu_tests -tc="*cuda step*,*generate --device cuda*,cuda drafter*" > $R/tests-step.txt 2>&1; echo "step/generate/drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')  $(( $(date +%s) - t0 )) s"
grep -B3 -A12 "ERROR" $R/tests-step.txt | head -40
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for only in "MiMo-V2.5-Pro tp" "Qwen3-30B"; do
    TACHYON_MOE_BENCH_ONLY="$only" timeout 100 $B bench kernels --only moe > "$R/kernels-moe-$v-${only%% *}.txt" 2>&1
    echo "kernels $v $only: rc $?"; grep -E "down.*step" "$R/kernels-moe-$v-${only%% *}.txt" | cut -d'|' -f2,5,6,8 | cut -c1-120
  done
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new off; do
  F=""; [[ $v == off ]] && F="--no-few-token-down"
  left 480 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $F > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in new off; do
  F=""; [[ $v == off ]] && F="--no-few-token-down"
  left 540 || continue
  build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 10 --context 1024 --timeline $R/tl-$v.json $F > "$R/step-tl-$v.txt" 2>&1
  echo "timeline $v:"; grep -E '^\| (moe_|mimo)' $R/step-tl-$v.txt | cut -c1-140 | head -8
done
echo "total $(( $(date +%s) - t0 )) s"
