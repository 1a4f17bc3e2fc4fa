#!/usr/bin/env bash
# s48j (one GPU): the split-x kernels merged into one template (the wide kernel's path for 3-9 n-tiles inside
# linear_split_x_kernel; the same PTX as before, names aside): GPU linear cases; the MiMo slice's 8 x 9 step timeline.
set -u
source .devdeps/on-device.sh
R=/tmp/s48j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48j.tgz -C /tmp s48j' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,gpu CUDA step*,gpu cuda step*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-step.txt 2>&1
echo "$(grep '^| mimo' $R/tl-step.txt | awk -F'|' '{printf "%s=%s (%s)", $5, $7, $14}') $(grep -E 'linear_split_x' $R/tl-step.txt | head -2 | tr '\n' ' ')"
rm -f $R/*.json $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
