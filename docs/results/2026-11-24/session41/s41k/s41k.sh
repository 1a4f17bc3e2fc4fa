#!/usr/bin/env bash
# s41k (one H200): the MoE combine + add + norm by a cluster of 8 CTAs a row for Qwen3-30B-A3B's 64 KB of slot rows a token
# (and gpt-oss-120b's 46 KB): an experiment build C (HEAD + TACHYON_COMBINE_ONE_CTA_BYTES, the one-CTA limit, default 65536);
# the elementwise GPU tests with every row count <= 16 on the cluster path (limit 0); the step at 63 KB / 32 KB / 64 KB.
set -u
source .devdeps/on-device.sh
R=/tmp/s41k; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41k.tgz -C /tmp s41k' EXIT
for v in C; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 16 > $R/build-$v.log 2>&1 || { tail -30 $R/build-$v.log; exit 1; }
done
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_COMBINE_ONE_CTA_BYTES=0 timeout 100 /tmp/build-C/tests/tachyon_gpu_tests -tc="gpu combine*,gpu rmsnorm*,gpu add*,cuda step*" > $R/tests-limit0.txt 2>&1; echo "tests (limit 0) rc $? $(grep -E 'test cases|assertions' $R/tests-limit0.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-limit0.txt | head -30
B=/tmp/build-C/bin/tachyon
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for lim in 65536 64512 32768; do
    for m in qwen3-30b-a3b gpt-oss-120b; do
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break
      [ $m = gpt-oss-120b ] && [ $lim = 64512 ] && continue
      TACHYON_COMBINE_ONE_CTA_BYTES=$lim timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 > $R/step-$m-$lim-r$r.txt 2>&1; echo "r$r $m limit $lim: $(row $R/step-$m-$lim-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
