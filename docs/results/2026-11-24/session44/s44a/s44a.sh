#!/usr/bin/env bash
# s44a (one GPU): the gate_up kernel-choice refactor (gate_up_kernel): build, the whole GPU test binary, the
# Qwen3-30B-A3B step at 1/8 x 1/9 (the committed kernels; the refactor changes no launch at these shapes).
set -u
source .devdeps/on-device.sh
R=/tmp/s44a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44a.tgz -C /tmp s44a' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests.txt | head -60
B=build/bin/tachyon
timeout 120 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-q.txt 2>&1
echo "step: $(grep '^| qwen' $R/step-q.txt | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}')"
echo "total $(( $(date +%s) - t0 )) s"
