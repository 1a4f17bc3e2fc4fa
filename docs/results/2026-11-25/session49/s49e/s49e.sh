#!/usr/bin/env bash
# s49e (one GPU): the linear cost model's bound as a soft maximum ((t_hbm^4 + t_waves^4)^(1/4), the offline refit over
# s49a's plan sweep) against the hard maximum (TACHYON_EXP_COST=max), same binary, interleaved, two rounds: the linear
# kernel bench with digests, `tachyon bench drafter`, gpt-oss-120b's and the MiMo slice's verify steps; GPU cases with it.
set -u
source .devdeps/on-device.sh
R=/tmp/s49e; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49e.tgz -C /tmp s49e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
B=build/bin/tachyon
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*,cuda step*,*drafter*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(el)"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for v in max soft; do
    TACHYON_EXP_COST=$v TACHYON_BENCH_DIGEST=1 timeout 120 $B bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1; echo "kbench $v r$r rc $? $(el)"
    TACHYON_EXP_COST=$v timeout 120 $B bench drafter > $R/drafter-$v-r$r.txt 2>&1; echo "drafter $v r$r: $(grep -E '^\| drafter (draft .graph)' $R/drafter-$v-r$r.txt | awk -F'|' '{n=split($4,a," "); printf "%s=%s; ", a[n], $5}') $(el)"
  done
done
for r in 1 2; do
  for m in gpt-oss-120b mimo-v2.5-pro-slice; do
    for v in max soft; do
      TACHYON_EXP_COST=$v timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,2,4,8 --tokens 9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
rm -f $R/*.log
echo "total $(el)"
