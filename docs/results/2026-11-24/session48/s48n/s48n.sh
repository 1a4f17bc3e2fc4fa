#!/usr/bin/env bash
# s48n (one GPU): EXPERIMENT: the linear cost model's reduction term priced per split (TACHYON_EXP_TRED=1: splits x partial
# bytes / 70 KB/us, fitted to s48m's bounds) against the committed term (=0), same binary: the linear kernel bench both ways
# (plans and times), the four models' steps both ways, one round; GPU linear, CUDA step and generate cases with it on.
set -u
source .devdeps/on-device.sh
R=/tmp/s48n; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48n.tgz -C /tmp s48n' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for v in 1 0; do
  TACHYON_EXP_TRED=$v timeout 100 build/bin/tachyon bench kernels --only linear > $R/klin-tred$v.txt 2>&1; echo "kernel bench tred=$v rc $? $(( $(date +%s) - t0 )) s"
done
for m in mimo-v2.5-pro-slice qwen3-30b-a3b qwen3-235b-a22b gpt-oss-120b; do
  for v in 1 0; do
    TACHYON_EXP_TRED=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-tred$v.txt 2>&1
    echo "$m tred=$v: $(grep '^| ' $R/step-$m-tred$v.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
  done
done
TACHYON_EXP_TRED=1 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*,*generate*" > $R/tests-tred.txt 2>&1; echo "tests tred=1 rc $? $(grep -E 'test cases|assertions' $R/tests-tred.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests-tred.txt
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
