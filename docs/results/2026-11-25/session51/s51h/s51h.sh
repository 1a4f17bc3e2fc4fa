#!/usr/bin/env bash
# s51h (one H200): the review mend of the linear cost model (its byte terms computed once; linear_plan without the
# unused overload): the same plans and terms as before. The kernel bench's linear rows with digests (against s51f's),
# the plan sweep's cost-model terms (against session 50's s50e on the same model), the GPU linear cases.
set -u
source .devdeps/on-device.sh
R=/tmp/s51h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s51h.tgz -C /tmp s51h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_BENCH_DIGEST=1 timeout 100 build/bin/tachyon bench kernels --only linear > $R/linear.txt 2>&1; echo "kbench rc $?"
TACHYON_BENCH_LINEAR_PLANS=1 timeout 200 build/bin/tachyon bench kernels --only linear > $R/sweep.txt 2>&1; echo "sweep rc $?"
d() { grep -o 'digest [0-9a-f]*' $1 | sort | uniq -c | sort | md5sum; }
echo "digests: new $(grep -c 'digest' $R/linear.txt) rows; s51f linear rows $(grep '| linear' docs/results/2026-11-25/session51/s51f/kernels.txt | grep -c digest)"
grep '| linear' docs/results/2026-11-25/session51/s51f/kernels.txt | grep -o 'digest [0-9a-f]*' > $R/dig-s51f.txt
grep '| linear' $R/linear.txt | grep -o 'digest [0-9a-f]*' > $R/dig-new.txt
cmp $R/dig-s51f.txt $R/dig-new.txt && echo "digests equal s51f's"
terms() { grep -o 'ran ([^|]*model_us=[0-9.]*' $1; }
terms docs/results/2026-11-25/session50/s50e/sweep.txt > $R/terms-s50e.txt; terms $R/sweep.txt > $R/terms-new.txt
echo "terms lines: s50e $(wc -l < $R/terms-s50e.txt), new $(wc -l < $R/terms-new.txt)"; cmp $R/terms-s50e.txt $R/terms-new.txt && echo "cost-model terms equal s50e's"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
rm -f $R/*.log
