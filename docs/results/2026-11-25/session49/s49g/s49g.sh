#!/usr/bin/env bash
# s49g (one GPU): the GPU linear cases after the FP8 row-slice views moved into a test helper (fp8_row_slice).
set -u
source .devdeps/on-device.sh
R=/tmp/s49g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s49g.tgz -C /tmp s49g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
rm -f $R/*.log
