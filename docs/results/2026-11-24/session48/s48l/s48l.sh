#!/usr/bin/env bash
# s48l (one GPU): EXPERIMENT: the 72-row (9 n-tile) FP8 tensor-core linear on warpgroup MMA (TACHYON_EXP_WGMMA=1: one
# wgmma.m64n72k16 per k-step and m-tile, x staged K-major for it) against mma.sync (=0), same binary: GPU linear and CUDA step
# cases with it on; the linear kernel bench both ways (FP8 rows at 72 tokens); the MiMo slice's and Qwen3-30B-A3B's steps.
set -u
source .devdeps/on-device.sh
R=/tmp/s48l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48l.tgz -C /tmp s48l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_EXP_WGMMA=1 timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*" > $R/tests-wg.txt 2>&1; echo "tests wg rc $? $(grep -E 'test cases|assertions' $R/tests-wg.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m8 -B3 -A10 "ERROR\|error" $R/tests-wg.txt | head -60
for v in 1 0; do
  TACHYON_BENCH_DIGEST=1 TACHYON_EXP_WGMMA=$v timeout 150 build/bin/tachyon bench kernels --only linear > $R/klin-wg$v.txt 2>&1; echo "kernel bench wg=$v rc $? $(( $(date +%s) - t0 )) s"
  grep "linear fp8" $R/klin-wg$v.txt | grep "m=72" | head -12
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    for v in 1 0; do
      TACHYON_EXP_WGMMA=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 8 --tokens 9 --reps 20 > $R/step-$m-wg$v-r$r.txt 2>&1
      echo "$m wg=$v r$r: $(grep '^| ' $R/step-$m-wg$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
