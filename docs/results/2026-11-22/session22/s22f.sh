#!/usr/bin/env bash
# s22f (2 x H200): x staged with several loads in flight (linear tensor-core path, moe stage_activations);
# old = HEAD (32e301c, decode order). Tests on new; kernel bench linear+moe; steps on 1 and 2 GPUs.
set -u
source .devdeps/on-device.sh
R=/tmp/s22f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s22f.tgz -C /tmp s22f' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 32 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
# GPU 1: the tests; GPU 0: kernel benches, at the same time
( CUDA_VISIBLE_DEVICES=1 build/tests/tachyon_gpu_tests -tc="gpu linear*,*cuda step*,gpu moe*,gpu elementwise*,cuda drafter*,tachyon generate --device cuda --drafter*,generate --device cuda --drafter*" > $R/tests-gpu.txt 2>&1; echo "gpu tests rc $? $(tail -2 $R/tests-gpu.txt | head -1)" ) &
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  CUDA_VISIBLE_DEVICES=0 $B bench kernels --only linear,moe > $R/kernels-$v.txt 2>&1; echo "kbench $v rc $?"
done
wait
build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*,tachyon generate --device cuda on 2*" > $R/tests-generate.txt 2>&1; echo "generate 1-2 GPUs rc $? $(tail -2 $R/tests-generate.txt | head -1)"
CUDA_VISIBLE_DEVICES=0,1 timeout 150 mpirun -np 2 --bind-to none build/tests/tachyon_mpi_tests -tc="gpu peer*" > $R/peer-test-2.txt 2>&1; echo "peer 2 ranks rc $? $(tail -2 $R/peer-test-2.txt | head -1)"
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 480 || continue
  CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "2gpu r$r $v mimo: $(grep -E '^\| (mimo|qwen)' "$R/step2-mimo-$v-r$r.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
  left 540 || continue
  CUDA_VISIBLE_DEVICES=0 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step1-qwen-$v-r$r.txt" 2>&1 &
  CUDA_VISIBLE_DEVICES=1 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 1,9 --reps 20 > "$R/step1-mimo8-$v-r$r.txt" 2>&1
  wait
  echo "1gpu r$r $v qwen: $(grep -E '^\| (mimo|qwen)' "$R/step1-qwen-$v-r$r.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
  echo "1gpu r$r $v mimo 8: $(grep -E '^\| (mimo|qwen)' "$R/step1-mimo8-$v-r$r.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
done; done
echo "total $(( $(date +%s) - t0 )) s"
