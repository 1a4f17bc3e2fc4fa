#!/usr/bin/env bash
# s29f (one H200): FP8 row stream with an integer E4M3 decode (TACHYON_FP8_INT_DECODE) against the converter, same binary.
set -u
source .devdeps/on-device.sh
R=/tmp/s29f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29f.tgz -C /tmp s29f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_FP8_INT_DECODE=1 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear-int.txt 2>&1; echo "linear tests (int decode) rc $? $(grep -E 'test cases|assertions' $R/tests-linear-int.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-linear-int.txt | head -40
for r in 1 2; do
  timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-cvt-r$r.txt 2>&1
  TACHYON_FP8_INT_DECODE=1 timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-int-r$r.txt 2>&1
done
paste -d'|' <(grep "linear fp8 |" $R/kernels-linear-cvt-r1.txt | grep -E "m=(1|2) " | cut -d'|' -f4,5) <(grep "linear fp8 |" $R/kernels-linear-int-r1.txt | grep -E "m=(1|2) " | cut -d'|' -f5) <(grep "linear fp8 |" $R/kernels-linear-cvt-r2.txt | grep -E "m=(1|2) " | cut -d'|' -f5) <(grep "linear fp8 |" $R/kernels-linear-int-r2.txt | grep -E "m=(1|2) " | cut -d'|' -f5,7)
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in cvt int; do
  if [ $v = int ]; then export TACHYON_FP8_INT_DECODE=1; else unset TACHYON_FP8_INT_DECODE; fi
  timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 > "$R/step-qwen-$v-r$r.txt" 2>&1
  echo "r$r $v qwen: $(row $R/step-qwen-$v-r$r.txt)"
done; done
echo "total $(( $(date +%s) - t0 )) s"
