#!/usr/bin/env bash
# s43a (one GPU): the warpgroup-MMA verify attention (TACHYON_ATTENTION_WGMMA=1) against the mma.sync kernel, one binary:
# the attention GPU tests with the new path forced, the attention kernel bench, the Qwen3-30B-A3B step at 1 x 9 and 8 x 9.
set -u
source .devdeps/on-device.sh
R=/tmp/${S43:-s43a}; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/${S43:-s43a}.tgz -C /tmp ${S43:-s43a}' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_ATTENTION_WGMMA=1 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu attention*" > $R/tests-wgmma.txt 2>&1; echo "tests wgmma rc $? $(grep -E 'test cases|assertions' $R/tests-wgmma.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m 12 -B3 -A8 "ERROR" $R/tests-wgmma.txt | head -60
B=build/bin/tachyon
for w in 1 0; do
  TACHYON_ATTENTION_WGMMA=$w timeout 100 $B bench kernels --only attention > $R/attn-w$w.txt 2>&1; echo "attn w$w rc $?"
done
paste -d'|' <(grep verify-9 $R/attn-w1.txt | awk -F'|' '{print $3"|"$4"|"$5}') <(grep verify-9 $R/attn-w0.txt | awk -F'|' '{print $5}') | sed 's/layer.*ctx 4096, //' 
echo "bench $(( $(date +%s) - t0 )) s"
for round in 1 2; do
  for w in 1 0; do
    TACHYON_ATTENTION_WGMMA=$w timeout 120 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > $R/step-q-w$w-r$round.txt 2>&1
    echo "w$w r$round: $(grep '^| qwen' $R/step-q-w$w-r$round.txt | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}')"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
