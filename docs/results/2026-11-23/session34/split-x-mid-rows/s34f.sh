#!/usr/bin/env bash
# s34f (one H200): the routers' split-x path at 17-128 rows (committed, ed96bdc) against the split-x of e57ffdb (3-16 rows; the
# FMA path beyond) built in the same call, at the step shapes between 16 and 72 rows: 2 x 9 (18 rows) and 4 x 9 (36 rows), MiMo slice
# and Qwen3-30B-A3B, two rounds each, interleaved; then the drafter bench (new build).
set -u
source .devdeps/on-device.sh
R=/tmp/s34f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s34f.tgz -C /tmp s34f' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
for f in linear_split_x.cu linear_split_x.h; do cp .dev/old_$f /tmp/oldsrc/kernels/cuda/$f; done
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 8 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait $BP; echo "builds rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 $B bench step --model $m --moe-parallel tp --seqs 2,4 --tokens 9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
timeout 150 build/bin/tachyon bench drafter > $R/drafter.txt 2>&1; echo "drafter rc $?"; grep -E '^\|' $R/drafter.txt | head -14
echo "total $(( $(date +%s) - t0 )) s"
