#!/usr/bin/env bash
# s39m (one H200): attention's 65-80-row blocks (a 9-query verify block at 8 query heads a KV head) as one row block of a
# 5-warp CTA (TACHYON_EXP_ATTN_WIDE) against the committed 32 + 32 + 8 blocks: attention + step GPU tests with the switch
# on; the attention kernel bench and the step (Qwen3-30B-A3B, gpt-oss-120b, Qwen3-235B-A22B at 1 x 9 / 8 x 9) both ways.
set -u
source .devdeps/on-device.sh
R=/tmp/s39m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39m.tgz -C /tmp s39m' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_EXP_ATTN_WIDE=1 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu attention*,cuda step*" > $R/tests-wide.txt 2>&1; echo "tests (wide) rc $? $(grep -E 'test cases|assertions' $R/tests-wide.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-wide.txt | head -40
timeout 100 build/bin/tachyon bench kernels --only attention > $R/attn-base.txt 2>&1
TACHYON_EXP_ATTN_WIDE=1 timeout 100 build/bin/tachyon bench kernels --only attention > $R/attn-wide.txt 2>&1
paste -d'#' <(grep "^| attention verify" $R/attn-base.txt | awk -F'|' '{print $3 $4 $5}') <(grep "^| attention verify" $R/attn-wide.txt | awk -F'|' '{print $4 $5}') | sed 's/ctx 4096, //; s/q \/ 1 kv heads, //' | grep -v MiMo | cut -c1-190
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in base wide; do
    if [ $v = wide ]; then export TACHYON_EXP_ATTN_WIDE=1; else unset TACHYON_EXP_ATTN_WIDE; fi
    for m in qwen3-30b-a3b gpt-oss-120b qwen3-235b-a22b; do
      timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
