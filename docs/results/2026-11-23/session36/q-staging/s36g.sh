#!/usr/bin/env bash
# s36g (one H200): attention's q staged once a CTA (coalesced float4 loads into pipeline stage NS - 1, ldmatrix fragments)
# against the committed attention.cu built in the same call: attention / drafter / step / generate tests, kernel bench
# attention, the step 1 x 1 / 1 x 9 / 8 x 1 / 8 x 9 two rounds, 1 x 1 timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s36g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36g.tgz -C /tmp s36g' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
cp .dev/old_attention.cu /tmp/oldsrc/kernels/cuda/attention.cu
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 240 build/tests/tachyon_gpu_tests -tc="gpu attention*,*drafter*,*cuda step*,tachyon generate*,*speculative*" > $R/tests.txt 2>&1; echo "attention+drafter+step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 120 $B bench kernels --only attention > $R/katt-$v.txt 2>&1
done
paste -d'|' <(grep "^| attention" $R/katt-new.txt | cut -d'|' -f2,3,4,5) <(grep "^| attention" $R/katt-old.txt | cut -d'|' -f5) | sed -E 's/, 16 q \/ 1 kv heads, dims 192\/128, ctx 4096//; s/ q \/ 1 kv heads, dims [0-9\/]+, ctx 4096//' | cut -c1-150
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m-new.txt > $R/tl-$m-new.log 2>&1
  grep -A8 'Kernel timeline' $R/tl-$m-new.log | grep -E "attention"
done
echo "total $(( $(date +%s) - t0 )) s"
