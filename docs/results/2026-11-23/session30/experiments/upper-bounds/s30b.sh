#!/usr/bin/env bash
# s30b (one H200): EXPERIMENT upper bound, kernel bench (routing independent of x): gate_up staging skipped vs normal.
set -u
source .devdeps/on-device.sh
R=/tmp/s30b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s30b.tgz -C /tmp s30b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for r in 1 2; do for v in normal skip; do for m in MiMo Qwen3-30B; do
  if [ $v = skip ]; then export TACHYON_EXP_SKIP_STAGE=1; else unset TACHYON_EXP_SKIP_STAGE; fi
  TACHYON_MOE_BENCH_ONLY=$m timeout 100 build/bin/tachyon bench kernels --only moe > $R/k-$m-$v-r$r.txt 2>&1
  echo "r$r $v $m"; grep -E "gate_up mxfp4" $R/k-$m-$v-r$r.txt | cut -d'|' -f3-7 | tr -s ' '
done; done; done
echo "total $(( $(date +%s) - t0 )) s"
