#!/usr/bin/env bash
# s46m (one GPU): add_rmsnorm_router at most 2 rows (new, the working tree) against any rows within 4096 elements (base:
# .dev/s46m.diff undone): GPU cases, the default target's step at 1-8 rows, spec_vs_plain on the default pair.
set -u
source .devdeps/on-device.sh
R=/tmp/s46m; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s46m.tgz -C /tmp s46m' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
mkdir -p /tmp/base && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/base && tar xf -)
(cd /tmp/base && patch -R -p1 < .dev/s46m.diff > /dev/null && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-base.log 2>&1) || echo "base build failed"
echo "builds $(( $(date +%s) - t0 )) s"
timeout 300 build/tests/tachyon_gpu_tests -tc="gpu add_rmsnorm_router*,*cuda step*,*CudaTargetStep*,cuda drafter*,tachyon generate --device cuda*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -m5 -A8 ERROR $R/tests.txt
for v in base new; do
  B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
  timeout 100 $B bench step --model model/default/target.h5 --moe-parallel tp --seqs 1,2,8 --tokens 1,2,8 --reps 30 > $R/step-default-$v.txt 2>&1
  echo "$v default target: $(grep '^| ' $R/step-default-$v.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}')"
done
python3 scripts/bench/python_prompts.py --out $R/prompts.jsonl > /dev/null
for v in base new; do
  B=build/bin/tachyon; [ $v = base ] && B=/tmp/base/build/bin/tachyon
  BLOCK=8 timeout 150 bash scripts/bench/spec_vs_plain.sh $B $R/svp-$v model/default/target.h5 model/default/drafter.h5 $R/prompts.jsonl > $R/svp-$v.txt 2>&1
  echo "$v rc $?"; grep '^| [0-9]' $R/svp-$v.txt
done
echo "total $(( $(date +%s) - t0 )) s"
