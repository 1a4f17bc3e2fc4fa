#!/usr/bin/env bash
# s47h (one GPU): an A/A check of the A/B pattern: the same commit built in the working tree (incremental, "tree") and
# in a copy under /tmp/base (from scratch, "copy"), the MiMo slice's and Qwen3-235B-A22B slice's steps interleaved, two
# rounds; then every GPU case on the commit.
set -u
source .devdeps/on-device.sh
R=/tmp/s47h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47h.tgz -C /tmp s47h' EXIT
git log --oneline -1 > $R/commit.txt 2>/dev/null
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
rm -rf /tmp/base; mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "copy build failed"
echo "builds $(( $(date +%s) - t0 )) s"
cmp build/bin/tachyon /tmp/base/build/bin/tachyon > /dev/null && echo "binaries identical" || echo "binaries differ: $(stat -c %s build/bin/tachyon /tmp/base/build/bin/tachyon | tr '\n' ' ')"
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
    for v in copy tree; do
      B=build/bin/tachyon; [ $v = copy ] && B=/tmp/base/build/bin/tachyon
      timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
timeout 330 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A6 ERROR $R/tests.txt
echo "total $(( $(date +%s) - t0 )) s"
