#!/usr/bin/env bash
# s44f (one GPU): which linear rows take token groups (the kernel bench's linear rows, new build), old against new.
set -u
source .devdeps/on-device.sh
R=/tmp/s44f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44f.tgz -C /tmp s44f' EXIT
if [ ! -x build/bin/tachyon ]; then cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1; fi
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_BENCH_DIGEST=1 timeout 200 build/bin/tachyon bench kernels --only linear > $R/linear-new.txt 2>&1; echo "rc $?"
grep "token groups" $R/linear-new.txt | head -40
if [ -x /tmp/oldtree/build/bin/tachyon ]; then TACHYON_BENCH_DIGEST=1 timeout 200 /tmp/oldtree/build/bin/tachyon bench kernels --only linear > $R/linear-old.txt 2>&1; echo "old rc $?"; fi
echo "total $(( $(date +%s) - t0 )) s"
