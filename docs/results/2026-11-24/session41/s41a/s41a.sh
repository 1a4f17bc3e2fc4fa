#!/usr/bin/env bash
# s41a (one H200): gate_up's token table (every token's x staged before the PDL wait; a pass's B fragments read its
# tokens' rows there) = new, against HEAD's moe_gemm_mma.cuh + moe_down_few_tokens.cu (old) built in the same call,
# and x = new + TACHYON_ITEM_COST (gate_up's choose_split item cost) switch. GPU tests of new, step of two models.
set -u
source .devdeps/on-device.sh
R=/tmp/s41a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41a.tgz -C /tmp s41a' EXIT
for v in old x; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 5 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in old x; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*,cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon [x]=/tmp/build-x/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in new old; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "steps $(( $(date +%s) - t0 )) s"
for c in 0 1 2 3; do
  [ $(( $(date +%s) - t0 )) -gt 530 ] && break
  TACHYON_ITEM_COST=$c timeout 60 ${BIN[x]} bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 > "$R/step-x$c.txt" 2>&1; echo "x cost $c: $(row $R/step-x$c.txt qwen3-30b-a3b)"
done
echo "total $(( $(date +%s) - t0 )) s"
