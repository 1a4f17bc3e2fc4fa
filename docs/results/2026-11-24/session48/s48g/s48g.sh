#!/usr/bin/env bash
# s48g (one GPU): the wide split-x router kernel with two row tiles a CTA (one CTA an SM; a warp's x loads serve both tiles:
# half the x read from the L2) where one-tile CTAs fill the SMs, TACHYON_EXP_SPLIT_TT2=1, against one tile (=0, the
# committed rule, its reduction now through pointers), same binary, interleaved; GPU linear cases both ways; MiMo 8 x 9
# timeline with it on; the linear kernel bench's router rows both ways.
set -u
source .devdeps/on-device.sh
R=/tmp/s48g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s48g.tgz -C /tmp s48g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for v in 1 0; do
  TACHYON_EXP_SPLIT_TT2=$v timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-tt2$v.txt 2>&1; echo "linear tests tt2=$v rc $? $(grep -E 'test cases|assertions' $R/tests-tt2$v.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
  grep -m5 -A8 ERROR $R/tests-tt2$v.txt
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice; do
    for v in 1 0; do
      TACHYON_EXP_SPLIT_TT2=$v timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 2,4,8 --tokens 9 --reps 20 > $R/step-$m-tt2$v-r$r.txt 2>&1
      echo "$m tt2=$v r$r: $(grep '^| ' $R/step-$m-tt2$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    done
  done
done
TACHYON_EXP_SPLIT_TT2=1 timeout 100 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 8 --tokens 9 --reps 20 --timeline $R/tl.json > $R/tl-step-tt21.txt 2>&1
echo "timeline tt2=1: $(grep -E 'linear_split_x' $R/tl-step-tt21.txt | head -2 | tr '\n' ' ')"
rm -f $R/*.json
for v in 1 0; do
  TACHYON_EXP_SPLIT_TT2=$v timeout 200 build/bin/tachyon bench kernels --only linear > $R/klin-tt2$v.txt 2>&1; echo "kernel bench tt2=$v rc $? $(( $(date +%s) - t0 )) s"
  grep "router" $R/klin-tt2$v.txt | grep "m=64\|m=72"
done
rm -f $R/*.log
echo "total $(( $(date +%s) - t0 )) s"
