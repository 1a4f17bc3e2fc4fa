#!/usr/bin/env bash
# s33b (one H200): the FP8 tensor-core linear with FP16 x and per-token shifts (each token's largest magnitude in
# the CTA's slice decides whether it keeps 2^-4 or takes its own shift), against the committed linear built in
# the same call: linear tests, CUDA step + generate + drafter tests, kernel bench linear and the step, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s33b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33b.tgz -C /tmp s33b' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
for f in linear.cu dequant.cuh mma.cuh linear.h; do cp .dev/old_$f /tmp/oldsrc/kernels/cuda/$f; done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 20 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 12 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -50
timeout 240 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30; grep "acceptance" $R/tests-step.txt
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  [ $(( $(date +%s) - t0 )) -gt 500 ] && break 2
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 60 $B bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1
  echo "r$r $v klin fp8 m>2: $(grep -E '^\| linear fp8 ' $R/klin-$v-r$r.txt | grep -vE 'm=(1|2) ' | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
echo "total $(( $(date +%s) - t0 )) s"
