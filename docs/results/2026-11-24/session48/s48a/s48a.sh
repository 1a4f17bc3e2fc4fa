#!/usr/bin/env bash
# s48a (one GPU): in-kernel routing by ranks (route_by_ranks) for 33-128 pairs against route_in_cta, same binary,
# TACHYON_EXP_RANK_ROUTING=128 (on) / 0 (off), interleaved; GPU moe cases with it on.
set -u
source .devdeps/on-device.sh
R=/tmp/s48a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48a.tgz -C /tmp s48a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-235b-a22b; do
    for v in 128 0; do
      TACHYON_EXP_RANK_ROUTING=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-rr$v-r$r.txt 2>&1
      echo "$m rr=$v r$r: $(grep '^| ' $R/step-$m-rr$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
