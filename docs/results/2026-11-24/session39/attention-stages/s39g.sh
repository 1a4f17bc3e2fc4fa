#!/usr/bin/env bash
# s39g (one H200): attention with 2 pipeline stages (-DTACHYON_EXP_ATTN_NS=2: 64 KB a CTA at 128/128 dims, 3 CTAs an SM
# instead of 2) against the default 3, two binaries built in one call: kernel bench and the step, two rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s39g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39g.tgz -C /tmp s39g' EXIT
rm -rf /tmp/src2 && mkdir -p /tmp/src2 && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src2/ 2>/dev/null
( cmake -S /tmp/src2 -B /tmp/build2 -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_FLAGS=-DTACHYON_EXP_ATTN_NS=2 > $R/cmake2.log 2>&1 && cmake --build /tmp/build2 -j 8 --target tachyon > $R/build2.log 2>&1 ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build2/bin/tachyon ] || { tail -30 $R/build2.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([ns3]=build/bin/tachyon [ns2]=/tmp/build2/bin/tachyon)
for v in ns3 ns2; do timeout 100 ${BIN[$v]} bench kernels --only attention > $R/attn-$v.txt 2>&1; done
paste -d'#' <(grep "^| attention" $R/attn-ns3.txt | awk -F'|' '{print $3 $4 $5}') <(grep "^| attention" $R/attn-ns2.txt | awk -F'|' '{print $5}') | sed 's/ctx 4096, //' | cut -c1-170
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s ", $5, $7}'; }
for r in 1 2; do
  for v in ns3 ns2; do
    for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
