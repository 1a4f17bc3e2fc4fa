#!/usr/bin/env bash
# s34d (one H200): combine_add_rmsnorm's cluster a row up to 128 rows (was 16) against the committed elementwise.cu built
# in the same call: the elementwise and CUDA step + generate tests, the MiMo slice's step at 8 x 9 (the only bench shape
# above 16 rows) three rounds each, interleaved, and a new-build 8 x 9 timeline.
set -u
source .devdeps/on-device.sh
R=/tmp/s34d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s34d.tgz -C /tmp s34d' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
cp .dev/old_elementwise.cu /tmp/oldsrc/kernels/cuda/elementwise.cu
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu combine*,gpu add_rmsnorm*,*cuda step*,tachyon generate*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -50
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2 3; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 100 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 9 --reps 20 > "$R/step-mimo-$v-r$r.txt" 2>&1; echo "r$r $v: $(row $R/step-mimo-$v-r$r.txt)"
done; done
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl-mimo-8x9.txt > $R/tl-mimo-8x9.log 2>&1
grep -A16 'Kernel timeline' $R/tl-mimo-8x9.log | head -18
echo "total $(( $(date +%s) - t0 )) s"
