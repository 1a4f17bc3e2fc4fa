#!/usr/bin/env bash
# s33e (one H200): the dense linear's loads without per-chunk address arithmetic (rows kept a tile; new2) and with
# the scale's use moved from the load to the chunk's compute (both new1 and new2), against the committed linear
# (old), all built in this call: linear tests and the CUDA step + generate (+ drafter) tests on new2, the default
# pair's greedy outputs of new2 against old (bit-identical arithmetic: same tokens), kernel bench linear two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s33e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33e.tgz -C /tmp s33e' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
for v in old new1; do
  mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ && cp .dev/${v}_linear.cu /tmp/src-$v/kernels/cuda/linear.cu
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
(for v in old new1; do cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 8 --target tachyon > $R/build-$v.log 2>&1; done) &
BP=$!
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -40
timeout 240 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30; grep "acceptance" $R/tests-step.txt
wait $BP; echo "old/new1 builds rc $? $(( $(date +%s) - t0 )) s"; tail -1 $R/build-old.log $R/build-new1.log
python3 -c '
import json
ps = ["import os\nimport sys\n\n\ndef main():\n", "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
      "    def __repr__(self):\n        return ", "def read_lines(path):\n    \"\"\"Return the lines of a file.\"\"\"\n", "for i in range(10):\n"]
for i, p in enumerate(ps): print(json.dumps({"id": i, "prompt": p, "max_tokens": 48, "temperature": 0}))' > $R/prompts.jsonl
for v in new2 old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for mode in plain spec; do
    extra=""; [ $mode = spec ] && extra="--drafter model/default/drafter.h5 --block-size 8"
    timeout 60 $B generate --device cuda --model model/default/target.h5 --prompts $R/prompts.jsonl --out $R/gen-$v-$mode.jsonl --max-batch 3 $extra > $R/gen-$v-$mode.log 2>&1 || echo "gen $v $mode failed"
  done
done
for mode in plain spec; do python3 -c "
import json,sys
a=[json.loads(l)['token_ids'] for l in open('$R/gen-new2-$mode.jsonl')]; b=[json.loads(l)['token_ids'] for l in open('$R/gen-old-$mode.jsonl')]
print('$mode new2 vs old tokens:', 'identical' if a==b else 'DIFFER')"; done
for r in 1 2; do for v in new2 new1 old; do
  B=build/bin/tachyon; [ $v != new2 ] && B=/tmp/build-$v/bin/tachyon
  timeout 60 $B bench kernels --only linear > $R/klin-$v-r$r.txt 2>&1
  echo "r$r $v: $(grep -E '^\| linear (fp8|bf16) ' $R/klin-$v-r$r.txt | grep -E 'MiMo' | grep -vE 'm=(1|2) ' | cut -d'|' -f5 | tr -s ' ' | tr '\n' ' ')"
done; done
echo "rows: $(grep -E '^\| linear (fp8|bf16) ' $R/klin-new2-r1.txt | grep -E 'MiMo' | grep -vE 'm=(1|2) ' | cut -d'|' -f2,4 | sed -E 's/ \(splits[^)]*\)//' | tr -s ' ' | tr '\n' ';')"
echo "total $(( $(date +%s) - t0 )) s"
