#!/usr/bin/env bash
# s33f (one H200): why the kept-rows linear (new2) is 0.74x on the drafter's down [4096, 16384] at 64 rows (two launches
# of 32 rows: the 4-n-tile BF16 kernel): Nsight Compute on that launch and the kernel's SASS, new2 against old (the
# committed linear); then the step (MiMo slice, Qwen3-30B-A3B) new2 / old, one round.
set -u
source .devdeps/on-device.sh
R=/tmp/s33f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33f.tgz -C /tmp s33f' EXIT
mkdir -p /tmp/src-old && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-old/ && cp .dev/old_linear.cu /tmp/src-old/kernels/cuda/linear.cu
(cmake -S /tmp/src-old -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 8 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait $BP; echo "builds $(( $(date +%s) - t0 )) s"
K='linear_kernel<\(tachyon::WeightFormat\)1, \(bool\)1, \(int\)4, \(int\)1'
for v in new2 old; do
  B=build/bin/tachyon; D=build; [ $v = old ] && B=/tmp/build-old/bin/tachyon && D=/tmp/build-old
  O=$(find $D -name linear.cu.o | head -1)
  cuobjdump -sass $O 2>/dev/null | awk '/Function :/{p = ($3 ~ /WeightFormatE1ELb1ELi4ELi1ELi4ELi4ELb0E/)} p' > $R/sass-ntok4-$v.txt
  echo "$v ntok4 SASS lines: $(grep -c '/\*[0-9a-f]*\*/' $R/sass-ntok4-$v.txt)"
  timeout 200 ncu --kernel-name-base demangled -k "regex:$K" --launch-count 1 --set full --import-source yes \
    --graph-profiling node -o $R/ncu-$v -f $B bench kernels --only linear > $R/ncu-$v.log 2>&1
  echo "ncu $v rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/ncu-$v.ncu-rep --page details > $R/details-$v.txt 2>&1
  grep -E 'linear_kernel|Duration|DRAM Throughput|Registers Per|Grid Size|Warp Cycles Per Issued|Issued Warp Per|Active Warps Per Scheduler|Issued Instructions  |Achieved Occupancy|Theoretical Occupancy' $R/details-$v.txt | head -12
  ncu --import $R/ncu-$v.ncu-rep --page source --csv --print-source sass > $R/sass-src-$v.csv 2>/dev/null; gzip -f $R/sass-src-$v.csv; rm -f $R/ncu-$v.ncu-rep
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7 | tr -s ' ' | tr '\n' ' '; }
for v in new2 old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v.txt" 2>&1; echo "$v $m: $(row $R/step-$m-$v.txt)"; done
done
echo "total $(( $(date +%s) - t0 )) s"
