#!/usr/bin/env bash
# s40i (2 x H200): the 2-GPU shape at the session's final code: the MiMo slice, tp, on two ranks, 1 x 1 and 1 x 9, one
# round (the device budget left allowed one short call). Outputs go straight to $OUT.
set -u
source .devdeps/on-device.sh
t0=$(date +%s)
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $OUT/cmake.log 2>&1 && cmake --build build -j 32 --target tachyon > $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 90 mpirun -np 2 --bind-to none build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 > $OUT/step2-mimo.txt 2>&1
echo "rc $? $(( $(date +%s) - t0 )) s"
grep "^| mimo" $OUT/step2-mimo.txt
