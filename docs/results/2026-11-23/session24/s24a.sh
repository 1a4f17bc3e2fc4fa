#!/usr/bin/env bash
# s24a (2 x H200): the push's x load beside the partial's, and the last layer through the fused reduce + final norm.
# old = b19b62e (HEAD). GPU tests on GPU 1 while GPU 0 times 1-GPU steps; then 2-GPU tests and steps, old/new interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s24a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s24a.tgz -C /tmp s24a' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 32 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' '; }
( CUDA_VISIBLE_DEVICES=1 build/tests/tachyon_gpu_tests -tc="*cuda step*,gpu add_rmsnorm*,gpu combine*,gpu rmsnorm*" > $R/tests-gpu.txt 2>&1; echo "gpu tests rc $? $(tail -2 $R/tests-gpu.txt | head -1)"
  CUDA_VISIBLE_DEVICES=1 build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*" > $R/tests-generate1.txt 2>&1; echo "generate 1 GPU rc $? $(tail -2 $R/tests-generate1.txt | head -1)" ) &
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  CUDA_VISIBLE_DEVICES=0 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > $R/step1-mimo-$v-r1.txt 2>&1
  echo "1gpu r1 $v mimo: $(row $R/step1-mimo-$v-r1.txt)"
done
wait
grep -E "ERROR|FAILED" $R/tests-gpu.txt | head -5
CUDA_VISIBLE_DEVICES=0,1 timeout 150 mpirun -np 2 --bind-to none build/tests/tachyon_mpi_tests -tc="gpu peer*" > $R/peer-test-2.txt 2>&1; echo "peer 2 ranks rc $? $(tail -2 $R/peer-test-2.txt | head -1)"
left 300 && { timeout 200 build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda on 2*" > $R/tests-generate2.txt 2>&1; echo "generate 2 GPUs rc $? $(tail -2 $R/tests-generate2.txt | head -1)"; }
for r in 1 2 3; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 540 || continue
  CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "2gpu r$r $v mimo: $(row $R/step2-mimo-$v-r$r.txt)"
done; done
echo "total $(( $(date +%s) - t0 )) s"
