#!/usr/bin/env bash
# s42c (one GPU): which half of s42b's change slowed the BF16 and 8-9-row linears: S = the new x staging alone, F = the
# FP8 blocks' fresh accumulators alone (HEAD's staging), new = both (working tree), old = HEAD's linear.cu; the kernel bench's
# linear rows with digests; Nsight Compute of the BF16 one-n-tile kernel (MiMo-V2.5-Pro q_proj at m = 8) on old and new.
set -u
source .devdeps/on-device.sh
R=/tmp/s42c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42c.tgz -C /tmp s42c' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in o42 S F; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 4 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 4 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
for v in o42 S F; do [ -x /tmp/build-$v/bin/tachyon ] || { tail -30 $R/build-$v.log; exit 1; }; done
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-o42/bin/tachyon [new]=build/bin/tachyon [S]=/tmp/build-S/bin/tachyon [F]=/tmp/build-F/bin/tachyon)
for v in new old S F; do
  TACHYON_BENCH_DIGEST=1 timeout 90 ${BIN[$v]} bench kernels --only linear > $R/linear-$v.txt 2>&1; echo "bench $v rc $?"
done
for v in old S F; do
  paste -d'#' <(grep "^| linear" $R/linear-new.txt | grep -o "digest [0-9a-f]*") <(grep "^| linear" $R/linear-$v.txt | grep -o "digest [0-9a-f]*") | awk -F'#' -v v=$v '{n++; if ($1 != $2) d++} END {printf "digests new vs %s: %d rows, %d differ\n", v, n, d}'
done
echo "columns: new # S # F # old"
paste -d'#' <(grep "^| linear" $R/linear-new.txt | awk -F'|' '{sub(/ digest.*/, "", $4); print $2 $3 $4 $5}') <(grep "^| linear" $R/linear-S.txt | awk -F'|' '{print $5}') <(grep "^| linear" $R/linear-F.txt | awk -F'|' '{print $5}') <(grep "^| linear" $R/linear-old.txt | awk -F'|' '{print $5}') | grep -E "m=(8|9|64|72|16|56)" | grep -v "fp32 x" | sed 's/(splits \([0-9]\), tiles\/warp \([0-9]\))/(\1,\2)/' | cut -c1-150
echo "bench $(( $(date +%s) - t0 )) s"
prof(){ # bin regex skip tag
  local b=$1 re=$2 skip=$3 tag=$4
  timeout 120 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    -o $R/$tag -f $b bench kernels --only linear > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  grep -E 'Duration|Issued Instructions  |Warp Cycles Per Issued|Registers Per' $R/details-$tag.txt | head -6
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null; gzip -f $R/sass-$tag.csv
  rm -f $R/$tag.ncu-rep
}
for v in new old; do prof ${BIN[$v]} 'linear_kernel<.tachyon::WeightFormat.1, .bool.1, .int.1, .int.1, .int.8,' 3 bf16-m8-$v; done
echo "total $(( $(date +%s) - t0 )) s"
