#!/usr/bin/env bash
# s40h (one H200): the E4M3 -> BF16 decode of the tensor-core linear in three instructions a pair (prmt with sign-replicating
# selectors, shift, mask) = new, against HEAD's dequant.cuh (old) built in the same call: SASS counts, GPU tests of new
# (linear, step, generate, drafter), the linear kernel bench of both, the step of four models, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s40h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40h.tgz -C /tmp s40h' EXIT
for v in old; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in old; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
for v in new old; do
  o=build/kernels/CMakeFiles/tachyon_kernels_cuda.dir/cuda/linear.cu.o; [ $v = old ] && o=/tmp/build-old/kernels/CMakeFiles/tachyon_kernels_cuda.dir/cuda/linear.cu.o
  cuobjdump -sass $o > $R/linear-$v.sass 2>&1
  echo "$v sass: PRMT $(grep -c PRMT $R/linear-$v.sass) LOP3 $(grep -c LOP3 $R/linear-$v.sass) SHF $(grep -cE 'SHF|SHL|SHR' $R/linear-$v.sass) all $(grep -cE '^ +/\*[0-9a-f]{4}\*/' $R/linear-$v.sass)"
  gzip -f $R/linear-$v.sass
done
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon)
for v in new old; do timeout 150 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1; done
paste -d'#' <(grep "^| linear" $R/linear-new.txt | awk -F'|' '{print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | grep -i fp8 | cut -c1-150
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in new old; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice qwen3-235b-a22b gpt-oss-120b; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
