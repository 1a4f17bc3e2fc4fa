#!/usr/bin/env bash
# s22g: final linear staging (tensor-core path, 4 quads in flight); old = 32e301c.
# kernel bench moe and the step, old against new, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s22g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s22g.tgz -C /tmp s22g' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; tar czf $OUT/s22g.tgz -C /tmp s22g; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
build/tests/tachyon_gpu_tests -tc="gpu linear*,*cuda step*,gpu moe*" > $R/tests-gpu.txt 2>&1; echo "linear+step+moe rc $? $(tail -2 $R/tests-gpu.txt | head -1)"
grep -E "ERROR|worst" $R/tests-gpu.txt | head -5
build/tests/tachyon_gpu_tests -tc="tachyon generate --device cuda gives*" > $R/tests-generate.txt 2>&1; echo "generate 1 GPU rc $? $(tail -2 $R/tests-generate.txt | head -1)"
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 300 && $B bench kernels --only linear > $R/kernels-linear-$v.txt 2>&1; echo "kbench $v rc $?"
done
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    left 540 || continue
    $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(grep -E '^\| (mimo|qwen)' "$R/step-$m-$v-r$r.txt" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
  done
done; done
left 560 && build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/timeline-mimo-1x9.json > $R/timeline-mimo-1x9.txt 2>&1
echo "total $(( $(date +%s) - t0 )) s"
