#!/usr/bin/env bash
# s35b (one H200): the one-token gate_up with x staged before the PDL wait and its weights in 2-D boxes of 2 k-iterations
# (one mbarrier a box) against the committed kernel built in the same call: moe tests, step + generate tests, kernel bench
# moe (MiMo tp slice, Qwen3-30B), the step 1 x 1 / 1 x 9 two rounds, 1 x 1 timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s35b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s35b.tgz -C /tmp s35b' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
for f in moe_one_token.cu moe_one_token.cuh; do cp .dev/old_$f /tmp/oldsrc/kernels/cuda/$f; done
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
timeout 150 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for sel in "MiMo-V2.5-Pro tp" "Qwen3-30B"; do TACHYON_MOE_BENCH_ONLY="$sel" timeout 90 $B bench kernels --only moe > "$R/kmoe-$v-${sel%% *}.txt" 2>&1; done
  echo "$v: $(grep -hE '1 token' $R/kmoe-$v-*.txt | cut -d'|' -f2-5 | tr -s ' ' | tr '\n' ';')"
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m-new.txt > $R/tl-$m-new.log 2>&1
  grep -A8 'Kernel timeline' $R/tl-$m-new.log | grep -E "gate_up|down_one|route" 
done
echo "total $(( $(date +%s) - t0 )) s"
