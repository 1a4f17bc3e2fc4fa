#!/usr/bin/env bash
# s44j (one GPU): CUDA graphs captured at a shape's second sighting (graph_cache.h). New build against the committed
# graph_cache.h (.dev/o44b): the default pair end to end (spec_vs_plain.sh) old/new, steps old/new, the whole GPU tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s44j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44j.tgz -C /tmp s44j' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build new $(( $(date +%s) - t0 )) s"
rm -rf /tmp/oldtree && mkdir /tmp/oldtree && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/oldtree && tar xf -)
cp -r .dev/o44b/kernels /tmp/oldtree/
(cd /tmp/oldtree && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-old.log 2>&1) || { grep -B2 -A12 "error" $R/build-old.log | head -40; exit 1; }
echo "build old $(( $(date +%s) - t0 )) s"
for round in 1 2; do
  for v in old new; do
    B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
    BLOCK=8 timeout 100 bash scripts/bench/spec_vs_plain.sh $B $R/svp-$v-r$round > $R/svp-$v-r$round.txt 2>&1; echo "svp $v r$round rc $?"; tail -2 $R/svp-$v-r$round.txt
  done
done
for v in old new; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  timeout 60 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-q-$v.txt 2>&1
  echo "qwen $v: $(grep '^| qwen' $R/step-q-$v.txt | awk -F'|' '{printf "%s=%s ", $5, $7}')"
done
echo "benches $(( $(date +%s) - t0 )) s"
timeout 280 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
grep -m 8 -B3 -A8 "ERROR" $R/tests.txt | head -50
echo "total $(( $(date +%s) - t0 )) s"
