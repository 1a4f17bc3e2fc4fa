#!/usr/bin/env bash
# s25d (2 x H200): linear_split_x from 3 rows (new, 4a04568) against 2ebb829 (old): gpu linear tests, generate on 2
# GPUs, the MiMo slice on 2 ranks interleaved, then one round of the 1-GPU steps on GPU 0.
set -u
source .devdeps/on-device.sh
R=/tmp/s25d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s25d.tgz -C /tmp s25d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 32 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,12,13,14 | tr -s ' ' | tr '\n' ' '; }
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
timeout 200 build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda on 2*" > $R/tests-generate2.txt 2>&1; echo "generate 2 GPUs rc $? $(tail -2 $R/tests-generate2.txt | head -1)"
for r in 1 2 3; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 440 || continue
  CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step2-mimo-$v-r$r.txt" 2>&1
  echo "2gpu r$r $v mimo: $(row $R/step2-mimo-$v-r$r.txt)"
done; done
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 500 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    CUDA_VISIBLE_DEVICES=0 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step1-$m-$v.txt" 2>&1
    echo "1gpu $v $m: $(row $R/step1-$m-$v.txt)"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
