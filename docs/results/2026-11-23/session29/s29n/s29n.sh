#!/usr/bin/env bash
# s29n (one H200): the review mend (bench_linear's other-path rows by one helper; device_limits' SM count from device_sm_count).
set -u
source .devdeps/on-device.sh
R=/tmp/s29n; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29n.tgz -C /tmp s29n' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear.txt 2>&1; echo "bench rc $? rows $(grep -c '^| linear' $R/kernels-linear.txt), other-path rows $(grep -cE '\(clusters\) \||\(row stream\) \|' $R/kernels-linear.txt)"
grep -E "router \[128, 4096\] m=(1|2)" $R/kernels-linear.txt | cut -d'|' -f2,4,5
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*,gpu linear*" > $R/tests.txt 2>&1; echo "moe+linear tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
echo "total $(( $(date +%s) - t0 )) s"
