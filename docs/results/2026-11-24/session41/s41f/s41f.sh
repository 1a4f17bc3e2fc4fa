#!/usr/bin/env bash
# s41f (one H200): gpt-oss-120b and the Qwen3-235B-A22B slice, new (ed6ae11) and old (its parent's moe files) built in the
# same call, two more rounds interleaved; a timeline of Qwen3-30B-A3B at 1 x 9 and 8 x 1 on new.
set -u
source .devdeps/on-device.sh
R=/tmp/s41f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s41f.tgz -C /tmp s41f' EXIT
if [ ! -x /tmp/build-old/bin/tachyon ]; then
for v in old; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 8 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 8 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
fi
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([new]=build/bin/tachyon [old]=/tmp/build-old/bin/tachyon)
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 4 5; do
  for v in new old; do
    for m in gpt-oss-120b qwen3-235b-a22b; do
      [ $(( $(date +%s) - t0 )) -gt 500 ] && break
      timeout 120 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
timeout 60 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 --timeline $R/tl-qwen.json > $R/tl-qwen.log 2>&1
grep -A8 "^| kernel" $R/tl-qwen.log | head -30
rm -f $R/tl-qwen.json
echo "total $(( $(date +%s) - t0 )) s"
