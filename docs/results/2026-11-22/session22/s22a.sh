#!/usr/bin/env bash
# s22a: verify 844272c (one dispatch place) on one GPU: moe + cuda step tests, generate on 1 GPU, step 1x1 with/without one-token kernels.
set -u
source .devdeps/on-device.sh
R=/tmp/s22a; mkdir -p $R
t0=$(date +%s)
nvidia-smi -L > $R/gpus.txt
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { tail -30 $R/build.log; tar czf $OUT/s22a.tgz -C /tmp s22a; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*" > $R/tests-moe-step.txt 2>&1; echo "moe+step rc $? $(tail -2 $R/tests-moe-step.txt | head -1)"
build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*" > $R/tests-generate.txt 2>&1; echo "generate 1 GPU rc $? $(tail -2 $R/tests-generate.txt | head -1)"
for v in new old; do
  f=""; [[ $v == old ]] && f="--no-one-token-moe"
  build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 30 $f > "$R/step-mimo-$v.txt" 2>&1
  echo "1gpu $v mimo: $(grep -E '^\| (mimo|qwen)' "$R/step-mimo-$v.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
done
TACHYON_MOE_BENCH_ONLY="MiMo-V2.5-Pro tp" build/bin/tachyon bench kernels --only moe > $R/kernels-moe-mimo-tp.txt 2>&1; echo "kbench rc $?"
echo "total $(( $(date +%s) - t0 )) s"
tar czf $OUT/s22a.tgz -C /tmp s22a
