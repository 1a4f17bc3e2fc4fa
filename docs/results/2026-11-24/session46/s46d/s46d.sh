#!/usr/bin/env bash
# s46d (one GPU): kernel timelines of the verify shapes on the committed code (997cff7): the MiMo slice and the default
# target at 1 x 9 / 1 x 8; the MiMo-size drafter bench.
set -u
source .devdeps/on-device.sh
R=/tmp/s46d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46d.tgz -C /tmp s46d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 120 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 --timeline $R/tl-mimo.json > $R/tl-mimo.txt 2>&1
grep -A30 "1 x 9 (seqs" $R/tl-mimo.txt | head -32
timeout 120 build/bin/tachyon bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --reps 20 --timeline $R/tl-default.json > $R/tl-default.txt 2>&1
grep -A30 "1 x 8 (seqs" $R/tl-default.txt | head -32
timeout 120 build/bin/tachyon bench drafter > $R/drafter.txt 2>&1; grep "^| drafter" $R/drafter.txt
echo "total $(( $(date +%s) - t0 )) s"
