#!/usr/bin/env bash
# s41j (one H200): the 72-row dense linears' plans in the step (Qwen3-30B-A3B 8 x 9): an experiment build P (HEAD + the
# TACHYON_PLAN72="cols:S:T" switch forcing a plan (K splits, tiles a warp) on launches of >= 33 rows over matrices of that
# many columns and at most 8192 rows), each forced plan against the cost model's; q/k/v has 2048 columns, o_proj 4096.
set -u
source .devdeps/on-device.sh
R=/tmp/s41j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41j.tgz -C /tmp s41j' EXIT
for v in P; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 16 --target tachyon > $R/build-$v.log 2>&1 || { tail -30 $R/build-$v.log; exit 1; }
done
echo "build $(( $(date +%s) - t0 )) s"
B=/tmp/build-P/bin/tachyon
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for p in none 2048:8:1 2048:8:2 2048:4:2 2048:2:2 4096:4:1 4096:8:2 4096:2:1; do
    [ $(( $(date +%s) - t0 )) -gt 540 ] && break
    if [ $p = none ]; then unset TACHYON_PLAN72; else export TACHYON_PLAN72=$p; fi
    timeout 60 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 8 --tokens 9 --reps 20 > $R/step-$p-r$r.txt 2>&1; echo "r$r plan $p: $(row $R/step-$p-r$r.txt qwen3-30b-a3b)"
  done
done
unset TACHYON_PLAN72
TACHYON_PLAN72_PRINT=1 timeout 60 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 8 --tokens 9 --reps 2 2>&1 | grep plan72 | sort | uniq -c | head -20
timeout 60 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-none.log 2>&1; grep "linear_kernel" $R/tl-none.log | head -4
rm -f $R/tl.json
echo "total $(( $(date +%s) - t0 )) s"
