#!/usr/bin/env bash
# s36h (one H200): the one-token gate_up selects its experts from the router's logits before its PDL wait (route_select,
# moe_route's arithmetic) and issues its weight copies while moe_route runs, against the committed code built in the
# same call: moe tests (new case), step + generate, drafter; the step 1 x 1 / 1 x 9 / 8 x 1 / 8 x 9 two rounds; timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s36h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36h.tgz -C /tmp s36h' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
(cd .dev/old && find . -type f | while read f; do cp $f /tmp/oldsrc/$f; done); rm -f /tmp/oldsrc/kernels/cuda/moe_route_select.cuh
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*" > $R/tests-step.txt 2>&1; echo "step+generate+drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m-new.txt > $R/tl-$m-new.log 2>&1
  grep -A12 'Kernel timeline' $R/tl-$m-new.log | grep -E "gate_up|down_one|route"
done
echo "total $(( $(date +%s) - t0 )) s"
