#!/usr/bin/env bash
# s45h (one GPU): --batch-invariant's K split at two ring rounds a split (new, the working tree) against one (base: the
# committed moe_gemm_launch.cuh, .dev/base_moe_gemm_launch.cuh); the invariance cases on the new code.
set -u
source .devdeps/on-device.sh
R=/tmp/s45h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45h.tgz -C /tmp s45h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
cp .dev/base_moe_gemm_launch.cuh /tmp/base/kernels/cuda/moe_gemm_launch.cuh
(cd /tmp/base && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="*batch invariance*,*batch-invariant*" > $R/inv.txt 2>&1; echo "invariance rc $? $(grep -E 'test cases|assertions' $R/inv.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A3 ERROR $R/inv.txt
for round in 1 2; do
for v in base new; do
  B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice model/default/target.h5; do
    n=$(basename $m .h5)
    timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --batch-invariant > $R/step-$n-$v-r$round.txt 2>&1
    echo "r$round $v $n: $(grep '^| ' $R/step-$n-$v-r$round.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
done
done
echo "total $(( $(date +%s) - t0 )) s"
