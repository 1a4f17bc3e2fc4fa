#!/usr/bin/env bash
# s22b: MXFP4 decode order. Build new (working tree) and old (HEAD, .dev/old.tar); tests on new;
# kernel bench moe and the step, old against new, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s22b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s22b.tgz -C /tmp s22b' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; tar czf $OUT/s22b.tgz -C /tmp s22b; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
cuobjdump -sass -fun '_ZN7tachyon4cuda10moe_detail14moe_mma_kernelILNS_12WeightFormatE3ELNS1_4ProjE1ELi8ELi2ELi1ELb0ELb1ELb0EEEvNS1_13MoeGemmParamsE' build/kernels/libtachyon_kernels_cuda.a > $R/sass-down-8-2-1.txt 2>&1
build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*,gpu linear*,gpu elementwise*,gpu random*" > $R/tests-gpu.txt 2>&1; echo "moe+step+linear+elementwise rc $? $(tail -2 $R/tests-gpu.txt | head -1)"
build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*" > $R/tests-generate.txt 2>&1; echo "generate 1 GPU rc $? $(tail -2 $R/tests-generate.txt | head -1)"
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 330 && $B bench kernels --only moe > $R/kernels-moe-$v.txt 2>&1; echo "kbench $v rc $?"
done
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    left 560 || continue
    $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(grep -E '^\| (mimo|qwen)' "$R/step-$m-$v-r$r.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
  done
done; done
echo "total $(( $(date +%s) - t0 )) s"
