#!/usr/bin/env bash
# s38j (one H200): the session's two rules on the other models the step bench knows, against 1fcc12a's moe_gemm_mma.cuh and
# attention.cu built in the same call: gpt-oss-120b (K = 2880: short rows; 8 query heads a KV head: 72 rows at 9 queries,
# both rules apply) and Qwen3-235B-A22B (neither applies: a control), 1 x 1 / 1 x 9 / 8 x 1 / 8 x 9, two rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s38j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38j.tgz -C /tmp s38j' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
(cd .dev/old && find . -type f | while read f; do cp $f /tmp/oldsrc/$f; done)
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 8 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait $BP; echo "builds rc $? $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in gpt-oss-120b qwen3-235b-a22b; do timeout 150 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m rc $?: $(row $R/step-$m-$v-r$r.txt $m)"; done
done; done
grep -m3 -E "layers|rank\(s\)" $R/step-gpt-oss-120b-new-r1.txt | cut -c1-300
echo "total $(( $(date +%s) - t0 )) s"
