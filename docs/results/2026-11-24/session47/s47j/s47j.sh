#!/usr/bin/env bash
# s47j (one GPU): the block-column expert GEMM (down) splits its items by cost, a pass of 3-16 tokens weighing more (new,
# the working tree) against even runs of items (base: .dev/s47j.diff undone). GPU moe cases, steps, a timeline.
set -u
source .devdeps/on-device.sh
R=/tmp/s47j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47j.tgz -C /tmp s47j' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s47j.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b qwen3-30b-a3b; do
    [ $r = 2 ] && [ $m != mimo-v2.5-pro-slice ] && continue
    for v in base new; do
      B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
      timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl.txt > $R/tl-step.txt 2>&1
grep -A5 "^| kernel" $R/tl-step.txt | head -6
echo "total $(( $(date +%s) - t0 )) s"
