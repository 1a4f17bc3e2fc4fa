#!/usr/bin/env bash
# s50e (one H200): the linear plan sweep (every plan forced, the cost model's terms) on the committed code, for an
# offline refit of the cost model on the H200 (docs/results/2026-11-25/session49/fit/fit.py, SWEEP pointed here).
set -u
source .devdeps/on-device.sh
R=/tmp/s50e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s50e.tgz -C /tmp s50e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_BENCH_LINEAR_PLANS=1 timeout 400 build/bin/tachyon bench kernels --only linear > $R/plans.txt 2>&1; echo "sweep rc $? $(( $(date +%s) - t0 )) s"
rm -f $R/*.log
