#!/usr/bin/env bash
# s47g (one GPU): the expert GEMM's first item's active expert by a binary search (new, the working tree) against a walk
# from the first (base: .dev/s47g.diff undone). GPU moe cases, the steps of the two 8-way slices and Qwen3-30B-A3B.
set -u
source .devdeps/on-device.sh
R=/tmp/s47g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47g.tgz -C /tmp s47g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s47g.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
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
echo "total $(( $(date +%s) - t0 )) s"
