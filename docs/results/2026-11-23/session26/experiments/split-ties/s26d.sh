#!/usr/bin/env bash
# s26d (one H200): choose_split ties to more K splits (new) against a956a31 (old): GPU tests, the moe kernel
# bench's step-size rows, the step on one GPU interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s26d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s26d.tgz -C /tmp s26d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 8 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
timeout 240 build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*,tachyon generate --device cuda gives*" > $R/tests.txt 2>&1; echo "moe/step/generate tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A8 "ERROR" $R/tests.txt | head -30
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for only in "MiMo-V2.5-Pro tp" "Qwen3-30B"; do
    TACHYON_MOE_BENCH_ONLY="$only" timeout 100 $B bench kernels --only moe > "$R/kernels-moe-$v-${only%% *}.txt" 2>&1
    echo "kernels $v $only: rc $?"; grep -E "step" "$R/kernels-moe-$v-${only%% *}.txt" | cut -d'|' -f2,5,6,8 | cut -c1-120
  done
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 500 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
echo "total $(( $(date +%s) - t0 )) s"
