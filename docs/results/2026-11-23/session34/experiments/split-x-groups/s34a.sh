#!/usr/bin/env bash
# s34a (one H200): 72 rows in one tensor-core linear launch (NTOK 9) and the routers' split-x path at 17-128 rows
# (groups of 16 over the same weight registers), against the committed linear + split-x built in the same call:
# linear tests, kernel bench linear (both builds), the step (MiMo slice, Qwen3-30B-A3B) one round each, then the
# CUDA step + generate tests with the time left.
set -u
source .devdeps/on-device.sh
R=/tmp/s34a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s34a.tgz -C /tmp s34a' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
for f in linear.cu linear_split_x.cu linear_split_x.h; do cp .dev/old_$f /tmp/oldsrc/kernels/cuda/$f; done
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -50
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 90 $B bench kernels --only linear > $R/klin-$v.txt 2>&1
  echo "$v klin m>=64: $(grep -E 'm=(64|72)' $R/klin-$v.txt | grep -v 'other path' | cut -d'|' -f3,4,5 | tr -s ' ' | tr '\n' ';')"
done
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v.txt" 2>&1; echo "$v $m: $(row $R/step-$m-$v.txt)"; done
done
T=$(( 570 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
