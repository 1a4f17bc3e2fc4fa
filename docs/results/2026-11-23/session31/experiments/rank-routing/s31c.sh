#!/usr/bin/env bash
# s31c (one H200): in-kernel routing by ranks for 33-128 pairs (route_by_ranks): moe tests, kernel bench moe step rows and
# the step, new against old (the committed moe_gemm_mma.cuh in a second build) in the same call, two rounds; step tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s31c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s31c.tgz -C /tmp s31c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests /tmp/oldsrc/ 2>/dev/null; cp .dev/old_moe_gemm_mma.cuh /tmp/oldsrc/kernels/cuda/moe_gemm_mma.cuh
for d in cmake third_party; do [ -d $d ] && cp -r $d /tmp/oldsrc/; done
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 16 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-moe.txt | head -40
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -3 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  TACHYON_MOE_BENCH_ONLY="MiMo-V2.5-Pro tp" timeout 60 $B bench kernels --only moe > $R/kmoe-$v-r$r.txt 2>&1
  echo "r$r $v kbench: $(grep -E 'step' $R/kmoe-$v-r$r.txt | cut -d'|' -f2,4,5 | tr -s ' ' | tr '\n' ' ')"
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
T=$(( 560 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
