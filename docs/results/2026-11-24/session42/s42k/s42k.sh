#!/usr/bin/env bash
# s42k (one GPU): the whole GPU test binary on HEAD (first ad58b76 + docs; then af96be1, the shared FNV-1a: s42l).
set -u
source .devdeps/on-device.sh
R=/tmp/${S42:-s42k}; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/${S42:-s42k}.tgz -C /tmp ${S42:-s42k}' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 400 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
