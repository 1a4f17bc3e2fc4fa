#!/usr/bin/env bash
# s49f (one H200 if lent): the session's code (HEAD) against the session's starting commit (f1da396, unpacked in .dev/base),
# both built in this call: the linear kernel bench with digests, `tachyon bench drafter`, 1 x 1 / 2 x 1 steps of the
# MiMo slice and Qwen3-30B-A3B, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s49f; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49f.tgz -C /tmp s49f' EXIT
( cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 ) &
( cmake -S .dev/base -B /tmp/build-base -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-base.log 2>&1 && cmake --build /tmp/build-base -j 8 --target tachyon > $R/build-base.log 2>&1 ) &
wait
[ -x build/bin/tachyon ] && [ -x /tmp/build-base/bin/tachyon ] || { grep -h -B2 -A12 error $R/build*.log | head -40; exit 1; }
echo "builds $(el)"
declare -A BIN=([new]=build/bin/tachyon [base]=/tmp/build-base/bin/tachyon)
for v in base new; do
  TACHYON_BENCH_DIGEST=1 timeout 120 ${BIN[$v]} bench kernels --only linear > $R/klin-$v.txt 2>&1; echo "kbench $v rc $? $(el)"
  timeout 120 ${BIN[$v]} bench drafter > $R/drafter-$v.txt 2>&1; echo "drafter $v: $(grep -E '^\| drafter (draft .graph)' $R/drafter-$v.txt | awk -F'|' '{n=split($4,a," "); printf "%s=%s; ", a[n], $5}') $(el)"
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    for v in base new; do
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break 3
      timeout 100 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
rm -f $R/*.log
echo "total $(el)"
