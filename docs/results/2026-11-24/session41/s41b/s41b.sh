#!/usr/bin/env bash
# s41b (one H200): new = gate_up's token table + the K-split sums' barriers per row tile (named barriers), against
# HEAD (old) built in the same call; x = new + TACHYON_ITEM_COST / TACHYON_NO_TOKEN_TABLE switches.
set -u
source .devdeps/on-device.sh
R=/tmp/s41b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41b.tgz -C /tmp s41b' EXIT
for v in old x; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 5 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in old x; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*,cuda step*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon [x]=/tmp/build-x/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for v in new old; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m.txt" 2>&1; echo "$v $m: $(row $R/step-$v-$m.txt $m)"
  done
done
echo "steps $(( $(date +%s) - t0 )) s"
for c in 0 1 2 3; do
  for t in on off; do
    [ $(( $(date +%s) - t0 )) -gt 520 ] && break
    if [ $t = off ]; then export TACHYON_NO_TOKEN_TABLE=1; else unset TACHYON_NO_TOKEN_TABLE; fi
    TACHYON_ITEM_COST=$c timeout 60 ${BIN[x]} bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 > "$R/step-x$c-$t.txt" 2>&1; echo "x qwen cost $c table $t: $(row $R/step-x$c-$t.txt qwen3-30b-a3b)"
  done
done
unset TACHYON_NO_TOKEN_TABLE
for c in 0 1 2; do
  [ $(( $(date +%s) - t0 )) -gt 540 ] && break
  TACHYON_ITEM_COST=$c timeout 60 ${BIN[x]} bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 > "$R/step-xm$c.txt" 2>&1; echo "x mimo cost $c: $(row $R/step-xm$c.txt mimo-v2.5-pro-slice)"
done
echo "total $(( $(date +%s) - t0 )) s"
