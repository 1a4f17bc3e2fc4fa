#!/usr/bin/env bash
# s51g (one H200): the committed code after the scale check (attention()'s CUDA_REQUIRE): attention, CUDA step, generate
# and drafter GPU cases.
set -u
source .devdeps/on-device.sh
R=/tmp/s51g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s51g.tgz -C /tmp s51g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 250 build/tests/tachyon_gpu_tests -tc="gpu attention*,gpu generic attention*,cuda step*,*generate*,cuda drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -B3 -A8 "ERROR\|FAILED" $R/tests.txt | head -40
rm -f $R/*.log
