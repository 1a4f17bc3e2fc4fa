#!/usr/bin/env bash
# s42d (one GPU): the FP8 tensor-core linear's fresh block accumulators (new = working tree, build/) against HEAD's linear.cu
# (old, built in the same call): GPU tests on new (linear, CUDA step, drafter, generate), the step of Qwen3-30B-A3B and the
# MiMo slice, one round each, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s42d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42d.tgz -C /tmp s42d' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in o42; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build-o42/bin/tachyon ] || { tail -30 $R/build-o42.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
timeout 260 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda *,tachyon generate*,generate*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-o42/bin/tachyon [new]=build/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    for v in new old; do
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
