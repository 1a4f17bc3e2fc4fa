#!/usr/bin/env bash
# s30c (one H200): EXPERIMENT upper bound of an L2 prefetch: the step-shape expert GEMMs with one expert set (L2-hot) vs rotating.
set -u
source .devdeps/on-device.sh
R=/tmp/s30c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s30c.tgz -C /tmp s30c' EXIT
cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for r in 1 2; do for v in cold hot; do for m in "MiMo-V2.5-Pro tp" Qwen3-30B; do
  if [ $v = hot ]; then export TACHYON_EXP_HOT=1; else unset TACHYON_EXP_HOT; fi
  TACHYON_MOE_BENCH_ONLY="$m" timeout 100 build/bin/tachyon bench kernels --only moe > "$R/k-${m:0:4}-$v-r$r.txt" 2>&1
  echo "r$r $v $m"; grep -E "step" "$R/k-${m:0:4}-$v-r$r.txt" | cut -d'|' -f2,4-7 | tr -s ' '
done; done; done
echo "total $(( $(date +%s) - t0 )) s"
