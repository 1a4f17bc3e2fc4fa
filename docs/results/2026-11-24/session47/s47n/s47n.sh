#!/usr/bin/env bash
# s47n (one GPU): down at steps of at most 16 tokens with passes of one n-tile (new, the working tree) against two (base:
# .dev/s47n.diff undone): every GPU case on the new code, then the two slices' steps at 1 x 9 and 8 x 1, base and new.
set -u
source .devdeps/on-device.sh
R=/tmp/s47n; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47n.tgz -C /tmp s47n' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
rm -rf /tmp/base; mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
timeout 330 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A6 ERROR $R/tests.txt
(cd /tmp/base && patch -R -p1 < .dev/s47n.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "base build done $(( $(date +%s) - t0 )) s"
for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
  for v in base new; do
    B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
    timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v.txt 2>&1
    echo "$m $v: $(grep '^| ' $R/step-$m-$v.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
  done
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
