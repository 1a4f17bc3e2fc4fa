#!/usr/bin/env bash
# s51c (one H200): attention with K and V as copy groups of their own in the two-stage (four key group) kernels, each
# half of a stage refilled once every warp is done with it (new, the working tree) against the committed attention.cu
# (base, .dev/base_attention.cu, f5fafff): attention/step/generate/drafter GPU tests on new; kernel bench attention rows
# and the step (four models), interleaved, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s51c; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s51c.tgz -C /tmp s51c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
cp .dev/base_attention.cu /tmp/base/kernels/cuda/attention.cu
(cd /tmp/base && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(el)"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu attention*,cuda step*,*generate*,cuda drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(el)"
grep -m5 -B3 -A8 "ERROR\|FAILED" $R/tests.txt | head -60
for r in 1 2; do
  for v in base new; do
    B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
    TACHYON_BENCH_DIGEST=1 timeout 100 $B bench kernels --only attention > $R/attn-$v-r$r.txt 2>&1
    echo "attn $v r$r $(el)"
  done
done
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice gpt-oss-120b qwen3-235b-a22b; do
    for v in base new; do
      B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
      timeout 120 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
for v in base new; do grep "attention" $R/attn-$v-r2.txt | awk -F'|' '{print $2 $4 "|" $5}' | sed 's/digest [0-9a-f]*//' > $R/a-$v.txt; done
paste -d'#' $R/a-base.txt $R/a-new.txt | awk -F'#' '{split($1,a,"|"); split($2,b,"|"); printf "%s  base %s new %s  ratio %.3f\n", a[1], a[2], b[2], a[2]/b[2]}' | cut -c1-230
rm -f $R/*.log
echo "total $(el)"
