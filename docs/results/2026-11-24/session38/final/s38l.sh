#!/usr/bin/env bash
# s38l (one H200): review mend: the down tail's slot-row sum is row_ops' slot_sum read through the L2 (one function for
# both), the tail bounded to kMaxSlotRows slot rows. moe, CUDA step, combine / norm tests.
set -u
source .devdeps/on-device.sh
R=/tmp/s38l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s38l.tgz -C /tmp s38l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests -tc="gpu moe*,*cuda step*,gpu combine*,gpu add_rmsnorm*,gpu rmsnorm*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests.txt | head -40
echo "total $(( $(date +%s) - t0 )) s"
