#!/usr/bin/env bash
# s40a (one H200): attention with one barrier a key tile (wait, barrier, refill the stage freed, compute) against HEAD's two,
# built in the same call: GPU tests of the new build, the attention kernel bench of both, the step of four models.
set -u
source .devdeps/on-device.sh
R=/tmp/s40a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40a.tgz -C /tmp s40a' EXIT
rm -rf /tmp/oldsrc && mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
(cd .dev/old && find . -type f | while read f; do cp $f /tmp/oldsrc/$f; done)
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build-old/bin/tachyon ] || { tail -30 $R/build-old.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu attention*,cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon)
for v in new old; do timeout 100 ${BIN[$v]} bench kernels --only attention > $R/attn-$v.txt 2>&1; done
paste -d'#' <(grep "^| attention" $R/attn-new.txt | awk -F'|' '{print $2 $3 $4 $5}') <(grep "^| attention" $R/attn-old.txt | awk -F'|' '{print $5}') | sed 's/ctx 4096, //; s/q \/ 1 kv heads, //' | cut -c1-150
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in new old; do
    for m in qwen3-30b-a3b qwen3-235b-a22b; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
    if [ $r = 1 ]; then for m in mimo-v2.5-pro-slice gpt-oss-120b; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done; fi
  done
done
echo "total $(( $(date +%s) - t0 )) s"
