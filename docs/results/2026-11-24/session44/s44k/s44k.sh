#!/usr/bin/env bash
# s44k (one GPU): an offline batch job on the Qwen3-30B-A3B shape (random checkpoint): 64 requests of 64-1024 random prompt ids
# and 128 output tokens, --max-batch 8 (continuous batching), CUDA graphs captured at a shape's second sighting (new) against
# the first (old, .dev/o44b). Two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s44k; mkdir -p $R
t0=$(date +%s)
trap 'rm -f $R/*.h5; tar czf $OUT/s44k.tgz -C /tmp s44k' EXIT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
rm -rf /tmp/oldtree && mkdir /tmp/oldtree && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/oldtree && tar xf -)
cp -r .dev/o44b/kernels /tmp/oldtree/
(cd /tmp/oldtree && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-old.log 2>&1) || exit 1
echo "builds $(( $(date +%s) - t0 )) s"
build/bin/tachyon convert --random-config scripts/bench/configs/qwen3_30b_a3b.json --seed 1 --experts mxfp4 --dense fp8 --to $R/q30.h5 > $R/convert.log 2>&1 || exit 1
echo "convert $(( $(date +%s) - t0 )) s"
python3 - $R/prompts.jsonl <<'PY'
import json, random, sys
rng = random.Random(44)
with open(sys.argv[1], "w") as f:
    for i in range(64):
        n = rng.randrange(64, 1025)
        f.write(json.dumps({"id": f"r{i}", "input_ids": [rng.randrange(151936) for _ in range(n)], "max_tokens": 128, "ignore_eos": True}) + "\n")
PY
for round in 1 2; do
  for v in old new; do
    B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
    timeout 120 $B generate --model $R/q30.h5 --prompts $R/prompts.jsonl --out $R/out-$v-r$round.jsonl --device cuda --max-batch 8 \
      --max-model-len 1200 --progress off --metrics-json $R/metrics-$v-r$round.json > $R/gen-$v-r$round.log 2>&1
    echo "$v r$round rc $?: $(grep -h 'done:' $R/gen-$v-r$round.log | sed 's/.*done: //') | $(grep -h 'summary:' $R/gen-$v-r$round.log | sed 's/.*summary: //' | cut -c1-150)"
  done
done
rm -f $R/prompts.jsonl
echo "total $(( $(date +%s) - t0 )) s"
