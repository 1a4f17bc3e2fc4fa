#!/usr/bin/env bash
# s47b (one GPU): gate_up's shared-memory ring 3 slots deep over long rows (new, the working tree) against 2 (base:
# .dev/s47b.diff undone). GPU moe cases, the kernel bench's MiMo rows, the MiMo slice's steps (timeline of 1 x 9).
set -u
source .devdeps/on-device.sh
R=/tmp/s47b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47b.tgz -C /tmp s47b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s47b.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for v in base new; do
  B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
  TACHYON_MOE_BENCH_ONLY="MiMo-V2.5-Pro" timeout 60 $B bench kernels --only moe > $R/kmoe-$v.txt 2>&1
  grep -E "mxfp4|tp slice" $R/kmoe-$v.txt | head -20 | sed "s/^/$v /"
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice; do
    [ $r = 2 ] && [ $m != mimo-v2.5-pro-slice ] && continue
    for v in base new; do
      B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
      timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
cuobjdump -res-usage build/bin/tachyon 2>/dev/null | grep -A1 "moe_mma" | grep -B1 "STACK:[1-9]\|LOCAL:[1-9]" | head -6
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --timeline $R/tl.txt > $R/tl-step.txt 2>&1
grep -A6 "^| kernel" $R/tl.txt $R/tl-step.txt | head -10
echo "total $(( $(date +%s) - t0 )) s"
