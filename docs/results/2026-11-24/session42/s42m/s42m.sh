#!/usr/bin/env bash
# s42m (one GPU): the tensor-core linear's cluster reduction by pushes to the owning rank (new = working tree, build/) against
# HEAD's pulls (old): GPU tests on new (linear, CUDA step, generate), the kernel bench's linear rows with digests, the step at
# 1 x 9 and 8 x 9 (Qwen3-30B-A3B, the MiMo slice).
set -u
source .devdeps/on-device.sh
R=/tmp/s42m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42m.tgz -C /tmp s42m' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in h43; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build-h43/bin/tachyon ] || { tail -30 $R/build-h43.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-h43/bin/tachyon [new]=build/bin/tachyon)
for v in new old; do TACHYON_BENCH_DIGEST=1 timeout 90 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1; echo "bench $v rc $?"; done
paste -d'#' <(grep "^| linear" $R/linear-new.txt | grep -o "digest [0-9a-f]*") <(grep "^| linear" $R/linear-old.txt | grep -o "digest [0-9a-f]*") | awk -F'#' '{n++; if ($1 != $2) d++} END {printf "digests new vs old: %d rows, %d differ\n", n, d}'
echo "columns: new # old"
paste -d'#' <(grep "^| linear" $R/linear-new.txt | awk -F'|' '{sub(/ digest.*/, "", $4); print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | grep -E "m=(8|9|64|72|56|16)" | grep -v "fp32 x" | sed 's/(splits \([0-9]\), tiles\/warp \([0-9]\))/(\1,\2)/' | cut -c1-130
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    for v in new old; do
      [ $(( $(date +%s) - t0 )) -gt 540 ] && break
      timeout 60 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
