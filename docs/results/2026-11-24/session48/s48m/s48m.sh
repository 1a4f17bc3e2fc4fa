#!/usr/bin/env bash
# s48m (one GPU): timing bounds of the dense linear (wrong outputs, timing only; TACHYON_EXP_LINEAR_SKIP): 1 = no x loads in
# the staging (zeros staged), 2 = no cluster reduction (the CTAs end after their K slice), 3 = both; the linear kernel bench
# each way, interleaved: how much of the 9-72-row FP8 launches is staging x and the reduction.
set -u
source .devdeps/on-device.sh
R=/tmp/s48m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48m.tgz -C /tmp s48m' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for v in 0 1 2 3; do
  TACHYON_EXP_LINEAR_SKIP=$v timeout 150 build/bin/tachyon bench kernels --only linear > $R/klin-skip$v.txt 2>&1; echo "kernel bench skip=$v rc $? $(( $(date +%s) - t0 )) s"
  grep "linear fp8 | MiMo" $R/klin-skip$v.txt | grep "q_proj\|o_proj" | grep "m=9 \|m=72" | awk -F'|' '{printf "%s %s | ", $4, $5}'; echo
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
