#!/usr/bin/env bash
# s33a (one H200): the FP8 tensor-core linear (3-64 rows) decodes E4M3 with the hardware converter to FP16 and
# multiplies FP16 x (x * 2^-4) on FP16 mma.sync, against the committed linear (BF16 bit-moved decode, BF16 x) built
# in the same call: linear tests, kernel bench linear two rounds, the step (MiMo slice, Qwen3-30B-A3B) two rounds,
# then the CUDA step + generate tests with the time left.
set -u
source .devdeps/on-device.sh
R=/tmp/s33a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33a.tgz -C /tmp s33a' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
for f in linear.cu dequant.cuh mma.cuh linear.h; do cp .dev/old_$f /tmp/oldsrc/kernels/cuda/$f; done
git show HEAD:tests/gpu/test_linear.cpp > /tmp/oldsrc/tests/gpu/test_linear.cpp 2>/dev/null || true
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 20 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 24 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -60
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 90 $B bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1
  echo "r$r $v klin fp8 m>2: $(grep -E '^\| linear fp8 ' $R/klin-$v-r$r.txt | grep -vE 'm=(1|2) ' | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
grep -E '^\| linear fp8 ' $R/klin-new-r1.txt | grep -vE 'm=(1|2) ' | cut -d'|' -f3,4 | tr -s ' ' | tr '\n' ';'; echo
T=$(( 575 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
