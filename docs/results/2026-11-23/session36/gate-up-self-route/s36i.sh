#!/usr/bin/env bash
# s36i (one H200): route_select's second round a warp a candidate (moe_route faster, same ids), and the one-token gate_up
# selecting its own experts before its wait (TACHYON_GATE_UP_SELF_ROUTE=1, the default here; =0 leaves it to moe_route),
# against the committed code built in the same call: moe / step / generate / drafter tests; the step two rounds; timelines.
set -u
source .devdeps/on-device.sh
R=/tmp/s36i; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36i.tgz -C /tmp s36i' EXIT
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null
(cd .dev/old && find . -type f | while read f; do cp $f /tmp/oldsrc/$f; done); rm -f /tmp/oldsrc/kernels/cuda/moe_route_select.cuh
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 6 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 14 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
TACHYON_GATE_UP_SELF_ROUTE=1 timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*,*drafter*" > $R/tests-step.txt 2>&1; echo "step+generate+drafter tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in self route old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  SR=1; [ $v = route ] && SR=0
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do TACHYON_GATE_UP_SELF_ROUTE=$SR timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
  for SR in 0 1; do
  TACHYON_GATE_UP_SELF_ROUTE=$SR timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl-$m-sr$SR.txt > $R/tl-$m-sr$SR.log 2>&1
  echo "self-route $SR:"; grep -A12 'Kernel timeline' $R/tl-$m-sr$SR.log | grep -E "gate_up|down_one|route"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
