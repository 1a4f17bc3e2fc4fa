#!/usr/bin/env bash
# s40e (one H200): combine_rows in one pass (each thread reads its row's sources' max and sum with their O, no
# weights pass and barrier) = new, against HEAD's attention.cu (old), both built in this call: GPU tests of new, the
# attention kernel bench of both, the step of four models, two rounds, and a timeline of new.
set -u
source .devdeps/on-device.sh
R=/tmp/s40e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40e.tgz -C /tmp s40e' EXIT
for v in old; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in old; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu attention*,cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon)
for v in new old; do timeout 100 ${BIN[$v]} bench kernels --only attention > $R/attn-$v.txt 2>&1; done
paste -d'#' <(grep "^| attention" $R/attn-new.txt | awk -F'|' '{print $2 $3 $4 $5}') <(grep "^| attention" $R/attn-old.txt | awk -F'|' '{print $5}') | sed 's/ctx 4096, //; s/q \/ 1 kv heads, //; s/(window 128, sinks)/w128/; s/attention //' | cut -c1-150
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in new old; do
    for m in qwen3-30b-a3b qwen3-235b-a22b gpt-oss-120b mimo-v2.5-pro-slice; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
timeout 150 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --timeline $R/tl.json > $R/tl-qwen3-30b-a3b.log 2>&1; rm -f $R/tl.json
grep -A6 "Kernel timeline" $R/tl-qwen3-30b-a3b.log | grep -E "^\| attention" | cut -c1-120
echo "total $(( $(date +%s) - t0 )) s"
