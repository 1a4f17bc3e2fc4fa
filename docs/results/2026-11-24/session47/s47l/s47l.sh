#!/usr/bin/env bash
# s47l (one GPU): the expert GEMM probe over the cost-weighted runs of s47j (.dev/s47l-probe-weighted.diff, experiment):
# do the CTAs whose runs fall on passes of 3-8 tokens still end last?
set -u
source .devdeps/on-device.sh
R=/tmp/s47l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s47l.tgz -C /tmp s47l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for m in mimo-v2.5-pro-slice; do
  for sh in "1 9"; do
    set -- $sh
    TACHYON_MOE_PROBE_OUT=$R/probe-$m-$1x$2 timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs $1 --tokens $2 --reps 20 > $R/step-$m-$1x$2.txt 2>&1
    echo "$m $1x$2: $(grep '^| ' $R/step-$m-$1x$2.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(( $(date +%s) - t0 )) s"
    for k in gate_up down; do
      python3 .dev/moe_probe.py $R/probe-$m-$1x$2.$k 690 > $R/sum-$m-$1x$2-$k.txt 2>&1; cat $R/sum-$m-$1x$2-$k.txt
    done
    rm -f $R/probe-$m-$1x$2.*
  done
done
echo "total $(( $(date +%s) - t0 )) s"
