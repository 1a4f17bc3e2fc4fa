#!/usr/bin/env bash
# s51e (one H200): the split K/V pipeline asking for one tile before the PDL wait (TACHYON_EXP_EARLY1=1, as the
# whole-tile pipeline) or two (the s51d code), one binary; and f5fafff's attention (base): the step of Qwen3-30B-A3B
# and Qwen3-235B-A22B's slice at 1,8 x 1,9, and the attention bench, interleaved, three rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s51e; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s51e.tgz -C /tmp s51e' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
cp -r .dev/base51d/kernels /tmp/base/
(cd /tmp/base && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(el)"
TACHYON_EXP_EARLY1=1 timeout 100 build/tests/tachyon_gpu_tests -tc="gpu attention*" > $R/tests-early1.txt 2>&1; echo "attention tests (early1) rc $? $(grep -E 'test cases|assertions' $R/tests-early1.txt | tail -2 | tr '\n' ' ') $(el)"
pick() {  # sets B and E for a variant
  B=build/bin/tachyon; E=TACHYON_UNUSED=0
  [ $1 = base ] && B=/tmp/base/build/bin/tachyon
  [ $1 = one ] && E=TACHYON_EXP_EARLY1=1
}
for r in 1 2 3; do
  for m in qwen3-30b-a3b qwen3-235b-a22b; do
    for v in base two one; do
      pick $v; timeout 120 env $E $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
      echo "$m $v r$r: $(grep '^| ' $R/step-$m-$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
for v in base two one; do
  pick $v; TACHYON_BENCH_DIGEST=1 timeout 100 env $E $B bench kernels --only attention > $R/attn-$v.txt 2>&1
  echo "attn $v: $(grep 'attention decode' $R/attn-$v.txt | grep 'batch 32' | awk -F'|' '{printf "%s ", $5}') $(el)"
done
rm -f $R/*.log
echo "total $(el)"
