#!/usr/bin/env bash
# s34g (one H200): the BF16 tensor-core linear at 5-9 n-tiles with 4 chunks in flight (was 2) against the committed linear
# built in the same call: linear tests and the CUDA step + generate + drafter tests (new), the kernel bench's linear rows and
# the drafter bench, both builds, two rounds of the drafter.
set -u
source .devdeps/on-device.sh
R=/tmp/s34g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s34g.tgz -C /tmp s34g' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
cp .dev/old_linear.cu /tmp/oldsrc/kernels/cuda/linear.cu
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*,*cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -50
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 90 $B bench kernels --only linear > $R/klin-$v.txt 2>&1
  echo "$v bf16 m>=16: $(grep -E '^\| linear bf16 \|' $R/klin-$v.txt | grep -E 'm=(16|56|64|72) ' | cut -d'|' -f4,5 | sed -E 's/\(splits[^)]*\)//' | tr -s ' ' | tr '\n' ';')"
done
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 120 $B bench drafter > $R/drafter-$v-r$r.txt 2>&1; echo "r$r $v drafter: $(grep -E 'draft \(graph|add_context' $R/drafter-$v-r$r.txt | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
done; done
echo "total $(( $(date +%s) - t0 )) s"
