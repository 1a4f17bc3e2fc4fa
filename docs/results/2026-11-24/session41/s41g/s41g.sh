#!/usr/bin/env bash
# s41g (one H200): the tensor-core linear's x staging with 8 quads a thread in flight instead of 4: A = at 5-9 n-tiles
# (NTOK >= 5), B = at 2-9 n-tiles except the three-CTAs-an-SM variants; old = HEAD (build/). Step of Qwen3-30B-A3B (two
# rounds) and the MiMo slice, the linear kernel bench, B's linear + CUDA step GPU tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s41g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41g.tgz -C /tmp s41g' EXIT
for v in A B; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  T="--target tachyon"; [ $v = B ] && T=""
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 $T > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 6 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in A B; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
timeout 100 /tmp/build-B/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*" > $R/tests-B.txt 2>&1; echo "tests B rc $? $(grep -E 'test cases|assertions' $R/tests-B.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=build/bin/tachyon [A]=/tmp/build-A/bin/tachyon [B]=/tmp/build-B/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in A B old; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      [ $r = 2 ] && [ $m != qwen3-30b-a3b ] && continue
      [ $(( $(date +%s) - t0 )) -gt 470 ] && break
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
for v in A B old; do
  [ $(( $(date +%s) - t0 )) -gt 530 ] && break
  timeout 60 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1
done
paste -d'#' <(grep "^| linear" $R/linear-A.txt | awk -F'|' '{print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-B.txt | awk -F'|' '{print $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | cut -c1-160 | head -70
echo "total $(( $(date +%s) - t0 )) s"
