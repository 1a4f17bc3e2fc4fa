#!/usr/bin/env bash
# s40c (one H200): a survey of the step's kernels for shared-memory bank conflicts and uncoalesced global loads (Nsight
# Compute, SourceCounters + memory tables), Qwen3-30B-A3B at 1 x 1, 1 x 9 and 8 x 9, and the MiMo slice at 1 x 9.
set -u
source .devdeps/on-device.sh
R=/tmp/s40c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40c.tgz -C /tmp s40c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
RE='regex:attention|moe|linear|norm|qkv|route|combine|dispatch|align|gate|down|router|argmax|embed|kv_write|peer'
for spec in "qwen3-30b-a3b 1 1" "qwen3-30b-a3b 1 9" "qwen3-30b-a3b 8 9" "mimo-v2.5-pro-slice 1 9"; do
  set -- $spec; tag=$1-$2x$3
  timeout 200 ncu --kernel-name-base demangled -k "$RE" --launch-count 40 --section SpeedOfLight --section SourceCounters \
    --section MemoryWorkloadAnalysis_Tables --section LaunchStats -o $R/$tag -f $B bench step --model $1 --moe-parallel tp \
    --seqs $2 --tokens $3 --reps 2 > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  rm -f $R/$tag.ncu-rep
done
echo "total $(( $(date +%s) - t0 )) s"
