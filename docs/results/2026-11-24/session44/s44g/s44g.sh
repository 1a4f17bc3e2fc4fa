#!/usr/bin/env bash
# s44g (one GPU): token groups only where one group has fewer CTAs than 2/5 of the SMs. New build against the
# committed linear (.dev/o44): the linear GPU tests, the kernel bench's linear rows, the steps of every model, old/new.
set -u
source .devdeps/on-device.sh
R=/tmp/s44g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44g.tgz -C /tmp s44g' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build new $(( $(date +%s) - t0 )) s"
if [ ! -x /tmp/oldtree/build/bin/tachyon ]; then
  rm -rf /tmp/oldtree && mkdir /tmp/oldtree && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/oldtree && tar xf -)
  cp -r .dev/o44/kernels /tmp/oldtree/
  (cd /tmp/oldtree && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-old.log 2>&1) || { grep -B2 -A12 "error" $R/build-old.log | head -40; exit 1; }
fi
echo "build old $(( $(date +%s) - t0 )) s"
timeout 120 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "tests linear rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -m 8 -B3 -A8 "ERROR" $R/tests-linear.txt | head -50
for v in old new; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  TACHYON_BENCH_DIGEST=1 timeout 100 $B bench kernels --only linear > $R/linear-$v.txt 2>&1; echo "kernels $v rc $?"
done
grep "token groups" $R/linear-new.txt | sed 's/ digest [0-9a-f]*//' | head -30
for v in old new; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  timeout 60 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --context 384 --reps 100 > $R/step-default-$v.txt 2>&1
  for m in qwen3-30b-a3b gpt-oss-120b qwen3-235b-a22b mimo-v2.5-pro-slice; do
    timeout 90 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > $R/step-$m-$v.txt 2>&1
  done
  for m in default qwen3-30b-a3b gpt-oss-120b qwen3-235b-a22b mimo-v2.5-pro-slice; do
    echo "$m $v: $(grep '^| ' $R/step-$m-$v.txt | grep -v 'model\|---' | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
  echo "$(( $(date +%s) - t0 )) s"
done
echo "total $(( $(date +%s) - t0 )) s"
