#!/usr/bin/env bash
# s50b: the row stream's ring depth and CTAs an SM (TACHYON_STREAM_SHAPE_FP8 / _BF16 = DxC; 4x2 is the committed shape),
# one binary: linear kernel bench per shape (digests), 1 x 1 / 2 x 1 steps interleaved, then GPU linear tests at 3x3 and 2x4.
set -u
source .devdeps/on-device.sh
R=/tmp/s50b; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s50b.tgz -C /tmp s50b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -60; exit 1; }
echo "build $(el)"
for r in 1 2; do
  for sh in 4x2 3x3 2x3 2x4; do
    TACHYON_STREAM_SHAPE_FP8=$sh TACHYON_STREAM_SHAPE_BF16=$sh TACHYON_BENCH_DIGEST=1 timeout 120 build/bin/tachyon bench kernels --only linear > $R/klin-$sh-r$r.txt 2>&1; echo "kbench $sh r$r rc $? $(el)"
  done
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b gpt-oss-120b; do
    for sh in 4x2 3x3 2x3 2x4; do
      [ $(( $(date +%s) - t0 )) -gt 420 ] && break 3
      TACHYON_STREAM_SHAPE_FP8=$sh TACHYON_STREAM_SHAPE_BF16=$sh timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 > $R/step-$m-$sh-r$r.txt 2>&1
      echo "$m $sh r$r: $(grep '^| ' $R/step-$m-$sh-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
for sh in 3x3 2x4; do
  [ $(( $(date +%s) - t0 )) -gt 480 ] && break
  TACHYON_STREAM_SHAPE_FP8=$sh TACHYON_STREAM_SHAPE_BF16=$sh timeout 100 build/tests/tachyon_gpu_tests -tc="gpu linear: the row stream*,gpu linear: the FP8 row stream*" > $R/tests-$sh.txt 2>&1; echo "tests $sh rc $? $(tail -3 $R/tests-$sh.txt | tr '\n' ' ') $(el)"
done
rm -f $R/*.log
echo "total $(el)"
