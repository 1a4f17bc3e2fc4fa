#!/usr/bin/env bash
# s39j (one H200): the shared-memory-ring gate_up with block columns for its passes of one or two tokens
# (TACHYON_EXP_GU_BLOCKCOLS, a second instantiation chosen by the switch) against the committed configuration; moe + step
# GPU tests with the switch on; the step of four models, two rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s39j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39j.tgz -C /tmp s39j' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_EXP_GU_BLOCKCOLS=1 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*,cuda step*" > $R/tests-bc.txt 2>&1; echo "tests (switch on) rc $? $(grep -E 'test cases|assertions' $R/tests-bc.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-bc.txt | head -30
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in base bc; do
    if [ $v = bc ]; then export TACHYON_EXP_GU_BLOCKCOLS=1; else unset TACHYON_EXP_GU_BLOCKCOLS; fi
    for m in qwen3-30b-a3b gpt-oss-120b mimo-v2.5-pro-slice qwen3-235b-a22b; do
      timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1
      timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 8 --tokens 1 --reps 20 > "$R/step81-$v-$m-r$r.txt" 2>&1
      echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m) $(row $R/step81-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
