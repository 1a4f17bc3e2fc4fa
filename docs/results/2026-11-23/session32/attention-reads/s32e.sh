#!/usr/bin/env bash
# s32e (2 x H200): attention's ldmatrix reads without per-read swizzle arithmetic (SwizzledReads), against the committed
# attention.cu (8a56469, whole-tile copies) built in the same call: attention tests, attention bench two rounds, the issue's
# 2-GPU step (MiMo slice tp, 1 x 1 and 1 x 9) two rounds, and the CUDA step + generate tests on 1 and 2 GPUs.
set -u
source .devdeps/on-device.sh
R=/tmp/s32e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s32e.tgz -C /tmp s32e' EXIT
nvidia-smi --query-gpu=name --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/oldsrc && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/oldsrc/ 2>/dev/null; cp .dev/old_attention.cu /tmp/oldsrc/kernels/cuda/attention.cu
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 20 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
(cmake -S /tmp/oldsrc -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 24 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
CUDA_VISIBLE_DEVICES=0 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu attention*" > $R/tests-attention.txt 2>&1; echo "attention tests rc $? $(grep -E 'test cases|assertions' $R/tests-attention.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-attention.txt | head -40
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f3,5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  CUDA_VISIBLE_DEVICES=0 timeout 60 $B bench kernels --only attention > $R/katt-$v-r$r.txt 2>&1
  echo "r$r $v katt: $(grep -E '^\| attention' $R/katt-$v-r$r.txt | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
  timeout 120 mpirun -np 2 --bind-to none $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "r$r $v 2gpu mimo: $(row $R/step2-mimo-$v-r$r.txt)"
done; done
T=$(( 570 - ($(date +%s) - t0) ))
echo "step tests with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
