#!/usr/bin/env bash
# s27b (one H200): compute-sanitizer on the several-token down test case.
set -u
source .devdeps/on-device.sh
R=/tmp/s27b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27b.tgz -C /tmp s27b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
which compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer
CS=$(which compute-sanitizer 2>/dev/null || ls /usr/local/cuda*/bin/compute-sanitizer | head -1)
timeout 200 $CS --print-limit 4 build/tests/tachyon_gpu_tests -tc="gpu moe down at 2-16*" > $R/san.txt 2>&1; echo "sanitizer rc $?"
head -60 $R/san.txt
echo "total $(( $(date +%s) - t0 )) s"
