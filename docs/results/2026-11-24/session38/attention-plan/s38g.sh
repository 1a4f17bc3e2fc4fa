#!/usr/bin/env bash
# s38g (one H200): attention's plan takes two key groups a CTA up to 72 rows (32-row blocks), against the committed code
# (b82f067) built in the same call: attention, CUDA step, generate and drafter tests; the step at 1 x 1 / 1 x 9 / 8 x 1 /
# 8 x 9, three rounds, new and old interleaved; the drafter bench, new and old.
set -u
source .devdeps/on-device.sh
R=/tmp/s38g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38g.tgz -C /tmp s38g' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
(cd .dev/old && find . -type f | while read f; do cp $f /tmp/oldsrc/$f; done)
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 280 build/tests/tachyon_gpu_tests -tc="gpu attention*,*cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "attention + step + generate + drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2 3; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt $m)"; done
done; done
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 120 $B bench drafter > $R/drafter-$v.txt 2>&1; echo "drafter $v rc $?"; grep "^|" $R/drafter-$v.txt | head -12
done
echo "total $(( $(date +%s) - t0 )) s"
