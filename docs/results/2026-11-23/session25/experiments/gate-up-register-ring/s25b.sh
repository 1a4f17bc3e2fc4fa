#!/usr/bin/env bash
# s25b (one H200): experiment, not committed: gate_up at 9+ tokens on the register ring's 16 warps with two
# n-tiles a pass (XREG16=1) against the shared-memory ring's one n-tile a pass (8 tokens; an expert of 9 takes 2).
set -u
source .devdeps/on-device.sh
R=/tmp/s25b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s25b.tgz -C /tmp s25b' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
XREG16=1 timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,gpu moe*" > $R/tests-xreg16.txt 2>&1; echo "XREG16 tests rc $? $(grep -E 'test cases|assertions' $R/tests-xreg16.txt | tail -2 | tr '\n' ' ')"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,12,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in reg16 smem; do
  left 420 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    if [[ $v == reg16 ]]; then export XREG16=1; else unset XREG16; fi
    build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in reg16 smem; do
  left 500 || continue
  if [[ $v == reg16 ]]; then export XREG16=1; else unset XREG16; fi
  build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl-$v.json > $R/tl-$v.txt 2>&1
  echo "timeline $v:"; grep -E "^\| (moe|linear|attention)" $R/tl-$v.txt | cut -c1-120 | head -8
done
echo "total $(( $(date +%s) - t0 )) s"
