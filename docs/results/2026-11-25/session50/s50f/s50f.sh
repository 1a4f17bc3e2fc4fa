#!/usr/bin/env bash
# s50f: the review mend (slice_pieces / slice_steps helpers): GPU linear tests and the linear kernel bench's digests.
set -u
source .devdeps/on-device.sh
R=/tmp/s50f; mkdir -p $R
trap 'tar czf $OUT/s50f.tgz -C /tmp s50f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(tail -3 $R/tests-linear.txt | tr '\n' ' ')"
TACHYON_BENCH_DIGEST=1 timeout 120 build/bin/tachyon bench kernels --only linear > $R/klin.txt 2>&1; echo "kbench rc $?"
rm -f $R/*.log
