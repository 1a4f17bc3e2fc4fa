#!/usr/bin/env bash
# s48f (one GPU): the dense FP8 linear's plans at 9, 64 and 72 rows (TACHYON_BENCH_LINEAR_PLANS=1: every (splits, tiles a
# warp) plan), MiMo-V2.5-Pro and Qwen3-235B-A22B shapes only (experiment filter TACHYON_EXP_LINEAR_ONLY); then the same with
# cluster splits of 3, 5, 6 and 7 (TACHYON_EXP_ODD_SPLITS): does a plan beat the cost model's choice at 72 rows?
set -u
source .devdeps/on-device.sh
R=/tmp/s48f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48f.tgz -C /tmp s48f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for mdl in MiMo-V2.5-Pro Qwen3-235B-A22B; do
  TACHYON_EXP_LINEAR_ONLY=$mdl TACHYON_BENCH_LINEAR_PLANS=1 timeout 150 build/bin/tachyon bench kernels --only linear > $R/sweep-$mdl.txt 2>&1
  echo "$mdl sweep rc $? $(( $(date +%s) - t0 )) s"
  TACHYON_EXP_ODD_SPLITS=1 TACHYON_EXP_LINEAR_ONLY=$mdl TACHYON_BENCH_LINEAR_PLANS=1 timeout 150 build/bin/tachyon bench kernels --only linear > $R/sweep-odd-$mdl.txt 2>&1
  echo "$mdl odd sweep rc $? $(( $(date +%s) - t0 )) s"
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
