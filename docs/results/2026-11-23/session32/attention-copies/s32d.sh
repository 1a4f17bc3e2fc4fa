#!/usr/bin/env bash
# s32d (one H200): attention copies whole K/V tiles without per-row checks or swizzle arithmetic.
# attention tests; kernel bench attention and the step, new against old (the committed attention.cu in a second build), two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s32d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s32d.tgz -C /tmp s32d' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null; cp .dev/old_attention.cu /tmp/oldsrc/kernels/cuda/attention.cu
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 12 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
cuobjdump -sass $(find build -name attention.cu.o | head -1) 2>/dev/null | awk '/Function :/{f=$3} /LDGSTS/{n[f]++} END{for(k in n) print n[k], k}' | grep -E "ILi192ELi128ELi4|ILi128ELi128ELi4" > $R/ldgsts-count.txt; cat $R/ldgsts-count.txt
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 16 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu attention*" > $R/tests-attention.txt 2>&1; echo "attention tests rc $? $(grep -E 'test cases|assertions' $R/tests-attention.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-attention.txt | head -40
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -2 $R/build-old.log
cp kernels/cuda/attention.cu $R/attention-new.cu
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 60 $B bench kernels --only attention > $R/katt-$v-r$r.txt 2>&1
  echo "r$r $v katt: $(grep -E '^\| attention' $R/katt-$v-r$r.txt | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  timeout 60 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 10 --timeline $R/tl-mimo-$v.json > $R/tl-mimo-$v.txt 2>&1
  echo "tl $v: $(grep -E 'attention_kernel' $R/tl-mimo-$v.txt | cut -d'|' -f2-5 | tr -s ' ' | tr '\n' ' ')"
done
T=$(( 570 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
