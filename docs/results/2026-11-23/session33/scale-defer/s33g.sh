#!/usr/bin/env bash
# s33g (one H200): the committed candidate (the linear's scale loads used when the chunk is computed, not at the load),
# against the committed linear (old) built in the same call: linear tests, CUDA step + generate (+ drafter) tests, the
# default pair's greedy tokens new / old (same arithmetic: same tokens), the step two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s33g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s33g.tgz -C /tmp s33g' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > $R/gpu.txt 2>&1
mkdir -p /tmp/src-old && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-old/ && cp .dev/old_linear.cu /tmp/src-old/kernels/cuda/linear.cu
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
(cmake -S /tmp/src-old -B /tmp/build-old -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/build-old -j 12 --target tachyon > $R/build-old.log 2>&1) &
BP=$!
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-linear.txt | head -40
timeout 240 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30; grep "acceptance" $R/tests-step.txt
wait $BP; echo "old build rc $? $(( $(date +%s) - t0 )) s"
python3 -c '
import json
ps = ["import os\nimport sys\n\n\ndef main():\n", "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
      "    def __repr__(self):\n        return ", "def read_lines(path):\n    \"\"\"Return the lines of a file.\"\"\"\n", "for i in range(10):\n"]
for i, p in enumerate(ps): print(json.dumps({"id": i, "prompt": p, "max_tokens": 48, "temperature": 0}))' > $R/prompts.jsonl
for v in new old; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for mode in plain spec; do
    extra=""; [ $mode = spec ] && extra="--drafter model/default/drafter.h5 --block-size 8"
    timeout 60 $B generate --device cuda --model model/default/target.h5 --prompts $R/prompts.jsonl --out $R/gen-$v-$mode.jsonl --max-batch 3 $extra > $R/gen-$v-$mode.log 2>&1 || echo "gen $v $mode failed"
  done
done
for mode in plain spec; do python3 -c "
import json
a=[json.loads(l)['token_ids'] for l in open('$R/gen-new-$mode.jsonl')]; b=[json.loads(l)['token_ids'] for l in open('$R/gen-old-$mode.jsonl')]
print('$mode new vs old tokens:', 'identical' if a==b else 'DIFFER')"; done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  [ $(( $(date +%s) - t0 )) -gt 520 ] && break 2
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/build-old/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 60 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"; done
done; done
echo "total $(( $(date +%s) - t0 )) s"
