#!/usr/bin/env bash
# s44h (one GPU, after s44g on the same machine): the whole GPU test binary on the new build; the embedded default
# pair end to end, plain against speculative, old and new (scripts/bench/spec_vs_plain.sh); a second round of the
# MiMo slice and Qwen3-235B-A22B verify steps, old and new.
set -u
source .devdeps/on-device.sh
R=/tmp/s44h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44h.tgz -C /tmp s44h' EXIT
[ -x build/tests/tachyon_gpu_tests ] && [ -x /tmp/oldtree/build/bin/tachyon ] || { echo "builds gone (machine not warm)"; exit 3; }
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  BLOCK=8 timeout 100 bash scripts/bench/spec_vs_plain.sh $B $R/svp-$v > $R/svp-$v.txt 2>&1; echo "svp $v rc $?"; tail -3 $R/svp-$v.txt
done
for v in old new; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  for m in qwen3-235b-a22b mimo-v2.5-pro-slice; do
    timeout 90 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > $R/step-$m-$v.txt 2>&1
    echo "$m $v: $(grep '^| ' $R/step-$m-$v.txt | grep -v 'model\|---' | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
done
echo "benches $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ')"
grep -m 8 -B3 -A8 "ERROR" $R/tests.txt | head -50
echo "total $(( $(date +%s) - t0 )) s"
