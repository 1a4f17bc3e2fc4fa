#!/usr/bin/env bash
# s42b (one GPU): the tensor-core linear's x staging without a division a quad and the FP8 blocks' fresh accumulators
# (new = working tree, build/), K8 = new with 8 outputs a thread in flight in the 33-72-row cluster reduction, old = HEAD's
# linear.cu; the kernel bench's linear rows with output digests (same bits?), GPU tests on new.
set -u
source .devdeps/on-device.sh
R=/tmp/s42b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42b.tgz -C /tmp s42b' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in o42 K8; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 5 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in o42 K8; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-o42/bin/tachyon [new]=build/bin/tachyon [K8]=/tmp/build-K8/bin/tachyon)
for v in new old K8; do
  TACHYON_BENCH_DIGEST=1 timeout 90 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1; echo "bench $v rc $?"
done
# same bits: every row's digest equal?
for v in old K8; do
  paste -d'#' <(grep "^| linear" $R/linear-new.txt | grep -o "digest [0-9a-f]*") <(grep "^| linear" $R/linear-$v.txt | grep -o "digest [0-9a-f]*") | awk -F'#' -v v=$v '{n++; if ($1 != $2) d++} END {printf "digests new vs %s: %d rows, %d differ\n", v, n, d}'
done
paste -d'#' <(grep "^| linear" $R/linear-new.txt | awk -F'|' '{sub(/ digest.*/, "", $4); print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-K8.txt | awk -F'|' '{print $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | grep -E "m=(8|9|64|72|16|56|112)" | cut -c1-150
echo "bench $(( $(date +%s) - t0 )) s"
timeout 260 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda *,tachyon generate*,generate*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
echo "total $(( $(date +%s) - t0 )) s"
