#!/usr/bin/env bash
# s23a (2 x H200): router launches that route their own logits (RouteInLaunch). old = 9845208 (HEAD).
# Tests on GPU 1 while GPU 0 times 1-GPU steps (new, new --no-router-route, old); then 2-GPU tests and steps.
set -u
source .devdeps/on-device.sh
R=/tmp/s23a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s23a.tgz -C /tmp s23a' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 32 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' '; }
( CUDA_VISIBLE_DEVICES=1 build/tests/tachyon_gpu_tests -tc="gpu moe_router_route*,gpu add_rmsnorm_router*,gpu moe_route*,gpu moe pipeline*,*cuda step*,gpu linear*" > $R/tests-gpu.txt 2>&1; echo "gpu tests rc $? $(tail -2 $R/tests-gpu.txt | head -1)"
  CUDA_VISIBLE_DEVICES=1 build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*" > $R/tests-generate1.txt 2>&1; echo "generate 1 GPU rc $? $(tail -2 $R/tests-generate1.txt | head -1)" ) &
for v in new norr old; do
  B=build/bin/tachyon; X=""; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon; [[ $v == norr ]] && X="--no-router-route"
  CUDA_VISIBLE_DEVICES=0 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $X > $R/step1-mimo-$v-r1.txt 2>&1
  echo "1gpu r1 $v mimo: $(row $R/step1-mimo-$v-r1.txt)"
done
wait
grep -E "ERROR|FAILED" $R/tests-gpu.txt | head -5
for v in new norr old; do
  B=build/bin/tachyon; X=""; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon; [[ $v == norr ]] && X="--no-router-route"
  left 330 || continue
  CUDA_VISIBLE_DEVICES=0 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $X > $R/step1-qwen-$v-r1.txt 2>&1 &
  CUDA_VISIBLE_DEVICES=1 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 $X > $R/step1-mimo-$v-r2.txt 2>&1
  wait
  echo "1gpu r1 $v qwen: $(row $R/step1-qwen-$v-r1.txt)"
  echo "1gpu r2 $v mimo: $(row $R/step1-mimo-$v-r2.txt)"
done
left 400 && { build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda on 2*" > $R/tests-generate2.txt 2>&1; echo "generate 2 GPUs rc $? $(tail -2 $R/tests-generate2.txt | head -1)"; }
for r in 1 2; do for v in new norr; do
  X=""; [[ $v == norr ]] && X="--no-router-route"
  left 530 || continue
  CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 $X > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "2gpu r$r $v mimo: $(row $R/step2-mimo-$v-r$r.txt)"
done; done
echo "total $(( $(date +%s) - t0 )) s"
