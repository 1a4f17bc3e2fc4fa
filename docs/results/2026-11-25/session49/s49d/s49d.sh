#!/usr/bin/env bash
# s49d (one GPU): the committed form of the row stream's load cursor (a template flag chosen by takes_cursor, no
# switch): every GPU case, and the linear kernel bench with digests (to compare with s49c's "auto" and "old").
set -u
source .devdeps/on-device.sh
R=/tmp/s49d; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49d.tgz -C /tmp s49d' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
TACHYON_BENCH_DIGEST=1 timeout 120 build/bin/tachyon bench kernels --only linear > $R/klin.txt 2>&1; echo "kbench rc $? $(el)"
timeout 420 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(el)"
grep -m5 -A8 ERROR $R/tests.txt
rm -f $R/*.log
echo "total $(el)"
