#!/usr/bin/env bash
# s44e (one GPU): token groups for the tensor-core linear over small matrices. Builds the new tree (build/) and the
# committed linear (build-old/, the files in .dev/o44 over a copy), the linear GPU tests, then the default target's
# step and Qwen3-30B-A3B's verify steps, old against new, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s44e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44e.tgz -C /tmp s44e' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build new $(( $(date +%s) - t0 )) s"
rm -rf /tmp/oldtree && mkdir /tmp/oldtree && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/oldtree && tar xf -)
cp -r .dev/o44/kernels /tmp/oldtree/
(cd /tmp/oldtree && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-old.log 2>&1) || { grep -B2 -A12 "error" $R/build-old.log | head -40; exit 1; }
echo "build old $(( $(date +%s) - t0 )) s"
timeout 120 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "tests linear rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -m 8 -B3 -A8 "ERROR" $R/tests-linear.txt | head -50
for round in 1 2; do
  for v in old new; do
    B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
    timeout 60 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,8 --tokens 1,8 --context 384 --reps 100 > $R/step-d-$v-r$round.txt 2>&1
    echo "default $v r$round: $(grep '^| target' $R/step-d-$v-r$round.txt | awk -F'|' '{printf "%s=%s ", $5, $7}')"
    timeout 60 $B bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 > $R/step-q-$v-r$round.txt 2>&1
    echo "qwen $v r$round: $(grep '^| qwen' $R/step-q-$v-r$round.txt | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
