#!/usr/bin/env bash
# s39b (one H200): linear_stream_qkv (the q/k/v row stream prepares the heads itself): GPU tests, then the step with
# and without (--no-fused-qkv-prepare), same binary, two rounds interleaved; a timeline of Qwen3-30B-A3B 1 x 1 fused.
set -u
source .devdeps/on-device.sh
R=/tmp/s39b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39b.tgz -C /tmp s39b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,gpu qkv_prepare*,cuda step*,tachyon generate*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -60
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for v in fused sep; do
    f=""; [ $v = sep ] && f="--no-fused-qkv-prepare"
    m=qwen3-30b-a3b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2,8 --tokens 1,9 --reps 20 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    m=gpt-oss-120b; timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 $f > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
  done
done
timeout 120 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1 --tokens 1 --reps 20 --timeline $R/tl.json > $R/tl-qwen-fused.txt 2>&1
grep -A14 "Kernel timeline" $R/tl-qwen-fused.txt | head -16; rm -f $R/tl.json
echo "total $(( $(date +%s) - t0 )) s"
