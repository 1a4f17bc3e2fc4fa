#!/usr/bin/env bash
# s42i (one GPU): BF16 at 5-9 n-tiles stages x 16 quads a thread in flight (new = working tree, build/) against HEAD's
# linear.cu (old): the kernel bench's linear rows with digests, `tachyon bench drafter` two rounds, GPU tests on new.
set -u
source .devdeps/on-device.sh
R=/tmp/s42i; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42i.tgz -C /tmp s42i' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in h42; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build-h42/bin/tachyon ] || { tail -30 $R/build-h42.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-h42/bin/tachyon [new]=build/bin/tachyon)
for v in new old; do TACHYON_BENCH_DIGEST=1 timeout 90 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1; echo "bench $v rc $?"; done
paste -d'#' <(grep "^| linear" $R/linear-new.txt | grep -o "digest [0-9a-f]*") <(grep "^| linear" $R/linear-old.txt | grep -o "digest [0-9a-f]*") | awk -F'#' '{n++; if ($1 != $2) d++} END {printf "digests new vs old: %d rows, %d differ\n", n, d}'
echo "columns: new # old"
paste -d'#' <(grep "^| linear" $R/linear-new.txt | awk -F'|' '{sub(/ digest.*/, "", $4); print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | grep -E "m=(64|72|56)" | grep -v "fp32 x" | sed 's/(splits \([0-9]\), tiles\/warp \([0-9]\))/(\1,\2)/' | cut -c1-130
for r in 1 2; do for v in new old; do
  timeout 90 ${BIN[$v]} bench drafter > $R/drafter-$v-r$r.txt 2>&1; echo "drafter r$r $v: $(grep -E '^\| drafter (draft .graph|add_context)' $R/drafter-$v-r$r.txt | awk -F'|' '{n=split($4,a," "); printf "%s%s=%s; ", substr($2,10,5), a[n], $5}')"
done; done
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda drafter*,tachyon generate*,generate*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
echo "total $(( $(date +%s) - t0 )) s"
