#!/usr/bin/env bash
# s40g (one H200): the survey of s40c for the one-token step's own kernels (Qwen3-30B-A3B and the MiMo slice at 1 x 1, and
# Qwen3-30B-A3B at 8 x 1): Nsight Compute SourceCounters + memory tables, the first launch of each kernel name.
set -u
source .devdeps/on-device.sh
R=/tmp/s40g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s40g.tgz -C /tmp s40g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
RE='regex:one_token|linear_stream|add_rmsnorm_router|attention_kernel<.int.1[29][28], .int.128, .int.4>|few_tokens_kernel<.int.1>'
for spec in "qwen3-30b-a3b 1 1" "mimo-v2.5-pro-slice 1 1" "qwen3-30b-a3b 8 1"; do
  set -- $spec; tag=$1-$2x$3
  timeout 200 ncu --kernel-name-base demangled -k "$RE" --launch-count 14 --section SpeedOfLight --section SourceCounters \
    --section MemoryWorkloadAnalysis_Tables --section LaunchStats -o $R/$tag -f $B bench step --model $1 --moe-parallel tp \
    --seqs $2 --tokens $3 --reps 2 > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  rm -f $R/$tag.ncu-rep
done
echo "total $(( $(date +%s) - t0 )) s"
