#!/usr/bin/env bash
# s51f (one H200): the committed code (f5fafff) on the whole-step table of "Where things stand": four models, 1-8 x 1-9, two
# rounds; the whole GPU test binary; the kernel bench (linear, moe, attention) with digests.
set -u
source .devdeps/on-device.sh
R=/tmp/s51f; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s51f.tgz -C /tmp s51f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice gpt-oss-120b qwen3-235b-a22b; do
    timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-r$r.txt 2>&1
    echo "$m r$r: $(grep '^| ' $R/step-$m-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s (%s) ", $5, $7, $14}') $(el)"
  done
done
TACHYON_BENCH_DIGEST=1 timeout 200 build/bin/tachyon bench kernels --only linear,moe,attention --json $R/kernels.json > $R/kernels.txt 2>&1; echo "kbench rc $? $(el)"
timeout 280 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "all GPU tests rc $? $(tail -3 $R/tests.txt | tr '\n' ' ') $(el)"
grep -B3 -A8 "ERROR\|FAILED" $R/tests.txt | head -40
rm -f $R/*.log
echo "total $(el)"
