#!/usr/bin/env bash
# s42g (one GPU): the session's final code (working tree): the whole GPU test binary and one round of the step (Qwen3-30B-A3B,
# the MiMo slice).
set -u
source .devdeps/on-device.sh
R=/tmp/s42g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42g.tgz -C /tmp s42g' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 330 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
  [ $(( $(date +%s) - t0 )) -gt 530 ] && break
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m.txt" 2>&1; echo "$m: $(row $R/step-$m.txt $m)"
done
echo "total $(( $(date +%s) - t0 )) s"
