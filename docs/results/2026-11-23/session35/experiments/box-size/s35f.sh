#!/usr/bin/env bash
# s35f (one H200): the one-token gate_up's box size, 3 against 2 (committed) k-iterations a box (timing only), two builds in the
# same call; moe tests on the variants, the step at 1 x 1 two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s35f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s35f.tgz -C /tmp s35f' EXIT
for c in 3; do
  mkdir -p /tmp/src$c && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src$c/ 2>/dev/null
  sed -i "s/constexpr int kChunk = 2;/constexpr int kChunk = $c;/" /tmp/src$c/kernels/cuda/moe_one_token.cu
  grep -n "constexpr int kChunk" /tmp/src$c/kernels/cuda/moe_one_token.cu
  (cmake -S /tmp/src$c -B /tmp/build$c -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake$c.log 2>&1 && cmake --build /tmp/build$c -j 8 > $R/build$c.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait; echo "builds $(( $(date +%s) - t0 )) s"; tail -1 $R/build3.log
true
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for c in 3 2; do
  B=build/bin/tachyon; [ $c != 2 ] && B=/tmp/build$c/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 30 > "$R/step-$m-c$c-r$r.txt" 2>&1; echo "r$r chunk $c $m: $(row $R/step-$m-c$c-r$r.txt)"; done
done; done
echo "total $(( $(date +%s) - t0 )) s"
