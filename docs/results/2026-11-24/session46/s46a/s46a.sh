#!/usr/bin/env bash
# s46a (one GPU): the drafter reads the target step's taps on the device, on the step's stream, without a sync per
# add_context (new, the working tree) against the committed code (base: .dev/s46a.diff undone). The drafter and
# generate GPU cases on the new code; spec_vs_plain on the default pair, base and new, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s46a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46a.tgz -C /tmp s46a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s46a.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
timeout 240 build/tests/tachyon_gpu_tests -tc="cuda drafter*,tachyon generate --device cuda*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A6 ERROR $R/tests.txt
python3 scripts/bench/python_prompts.py --out $R/prompts.jsonl > /dev/null
for round in 1 2; do
for v in base new; do
  B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
  BLOCK=8 timeout 150 bash scripts/bench/spec_vs_plain.sh $B $R/svp-$v-r$round model/default/target.h5 model/default/drafter.h5 $R/prompts.jsonl > $R/svp-$v-r$round.txt 2>&1
  echo "r$round $v rc $?"; grep '^| [0-9]' $R/svp-$v-r$round.txt
done
done
echo "total $(( $(date +%s) - t0 )) s"
