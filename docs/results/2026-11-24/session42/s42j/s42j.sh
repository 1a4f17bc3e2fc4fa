#!/usr/bin/env bash
# s42j (one GPU): the session's final code (HEAD): the kernel bench (linear, moe, attention) with JSON, and Qwen3-30B-A3B's kernel
# timelines at 1 x 9 and 8 x 9.
set -u
source .devdeps/on-device.sh
R=/tmp/s42j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42j.tgz -C /tmp s42j' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
timeout 240 $B bench kernels --only linear,moe,attention --json $R/kernels.json > $R/kernels.txt 2>&1; echo "kernels rc $? $(( $(date +%s) - t0 )) s"
timeout 120 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-qwen.log 2>&1; echo "timeline rc $?"
rm -f $R/tl.json
grep -E "^\| (moe_mma|moe_down|attention_kernel|linear_kernel|rmsnorm|moe_route|linear_split)" $R/tl-qwen.log | awk -F'|' '{printf "%-70s %s %s\n", substr($2,1,70), $3, $5}'
echo "total $(( $(date +%s) - t0 )) s"
