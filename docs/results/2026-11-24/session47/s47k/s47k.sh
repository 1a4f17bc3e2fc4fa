#!/usr/bin/env bash
# s47k (one GPU): the whole kernel bench (linear, moe, attention) on the session's final code (b493c91).
set -u
source .devdeps/on-device.sh
R=/tmp/s47k; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47k.tgz -C /tmp s47k' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 300 build/bin/tachyon bench kernels --only linear,moe,attention --json $R/kernels.json > $R/kernels.txt 2>&1; echo "kernels rc $? $(( $(date +%s) - t0 )) s"
grep -E "mxfp4" $R/kernels.txt | head -40
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
