#!/usr/bin/env bash
# s47m (one GPU): experiment switch TACHYON_EXP_DOWN_NT1=1 (.dev/s47m-exp.diff): the persistent down kernel at steps of at
# most 16 tokens compiled with passes of one n-tile (no two-n-tile code; an expert of 9-16 tokens takes two passes), against
# the committed choice (two n-tiles), same binary, interleaved. GPU moe cases under the switch; the two slices' steps; the SASS
# size of both instantiations.
set -u
source .devdeps/on-device.sh
R=/tmp/s47m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47m.tgz -C /tmp s47m' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for nt in 2 1; do
  f=_ZN7tachyon4cuda10moe_detail14moe_mma_kernelILNS_12WeightFormatE3ELNS1_4ProjE1ELi16ELi2ELi${nt}ELb1ELb1ELb0EEEvNS1_13MoeGemmParamsE
  echo "down 16 warps NTMAX=$nt: $(cuobjdump -sass -fun $f build/bin/tachyon 2>/dev/null | grep -c '^        /\*[0-9a-f]*\*/') SASS instructions"
done
TACHYON_EXP_DOWN_NT1=1 timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests.txt 2>&1; echo "tests (switch on) rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
    for v in 0 1; do
      TACHYON_EXP_DOWN_NT1=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-nt1$v-r$r.txt 2>&1
      echo "$m nt1=$v r$r: $(grep '^| ' $R/step-$m-nt1$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
TACHYON_EXP_DOWN_NT1=1 timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl.txt > $R/tl-step.txt 2>&1
grep -A4 "^| kernel" $R/tl-step.txt | head -5
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
