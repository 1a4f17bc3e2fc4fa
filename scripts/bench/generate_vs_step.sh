#!/usr/bin/env bash
# What a user's `tachyon generate` gets against the step it runs: end-to-end decode throughput over a prompt
# file, next to `tachyon bench step` at the same shape, in the same run. The gap between a request's time
# per output token (TPOT) and the step's median is what the runtime adds a step outside the step's graph
# (scheduling, sampling, copies to the host, writing results).
#
#   scripts/bench/generate_vs_step.sh TACHYON OUT_DIR [CONFIG] [BENCH_MODEL]
#   CONFIG: a config.json for `tachyon convert --random-config` (default scripts/bench/configs/qwen3_30b_a3b.json;
#   MXFP4 experts, FP8 dense: the checkpoint is written once into OUT_DIR, ~17 GB for the default).
#   BENCH_MODEL: `tachyon bench step --model` of the same shape (default qwen3-30b-a3b).
#   environment: BATCH=1,8 (sequences decoded together: that many requests, --max-batch the same),
#   PROMPT=512 (random prompt ids a request), OUTPUT=512 (tokens a request, ignore_eos), DEVICE=cuda.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,14p "$0"; exit 2; }
tachyon=$1 out=$2
config=${3:-$(dirname "$0")/configs/qwen3_30b_a3b.json}
bench_model=${4:-qwen3-30b-a3b}
batch=${BATCH:-1,8} prompt=${PROMPT:-512} output=${OUTPUT:-512} device=${DEVICE:-cuda}
mkdir -p "$out"
model=$("$(dirname "$0")/random_checkpoint.sh" "$tachyon" "$config" "$out")
vocab=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$config")

for b in ${batch//,/ }; do
  python3 - "$out/prompts-$b.jsonl" "$b" "$prompt" "$output" "$vocab" <<'PY'
import json, random, sys
path, n, prompt, output, vocab = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(n)
with open(path, "w") as f:
    for i in range(n):
        ids = [rng.randrange(vocab) for _ in range(prompt)]
        f.write(json.dumps({"id": f"r{i}", "input_ids": ids, "max_tokens": output, "ignore_eos": True}) + "\n")
PY
  "$tachyon" generate --model "$model" --prompts "$out/prompts-$b.jsonl" --out "$out/results-$b.jsonl" --device "$device" \
    --max-batch "$b" --max-model-len $((prompt + output + 16)) --progress off --metrics-json "$out/metrics-$b.json" \
    > "$out/generate-$b.log" 2>&1 || { tail -20 "$out/generate-$b.log"; exit 1; }
done
# The step at the middle of the decode's contexts.
"$tachyon" bench step --model "$bench_model" --tokens 1 --seqs "$batch" --context $((prompt + output / 2)) \
  --reps 50 --json "$out/step.json" > "$out/step.txt" 2>&1 || { tail -20 "$out/step.txt"; exit 1; }

python3 - "$out" "$batch" "$prompt" "$output" <<'PY'
import json, statistics, sys
out, batches, prompt, output = sys.argv[1], [int(b) for b in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
step = json.load(open(f"{out}/step.json"))
print(f"\n{step['device']}, {step['date']}: `tachyon generate` ({prompt} prompt + {output} output tokens a request, "
      f"greedy, ignore_eos) against `tachyon bench step` at context {prompt + output // 2}")
print("| batch | generate output tokens/s | TPOT median ms | step median ms | TPOT / step | "
      "step tokens/s (x roofline) | generate wall s (TTFT p50 ms) |")
print("|---|---|---|---|---|---|---|")
for b in batches:
    m = json.load(open(f"{out}/metrics-{b}.json"))
    a = m["aggregate"]
    s = next(s for s in step["steps"] if s["seqs"] == b and s["tokens_per_seq"] == 1)
    # The requests' own TPOTs (the aggregate's quantiles come from log buckets).
    tpot, step_ms = statistics.median(r["tpot_ms"] for r in m["requests"]), s["median_us"] / 1e3
    print(f"| {b} | {a['output_tokens_per_s']:.0f} | {tpot:.3f} | {step_ms:.3f} | {tpot / step_ms:.3f} | "
          f"{s['tokens_per_s']:.0f} ({s['x_roofline']:.2f}) | {a['wall_s']:.2f} ({a['ttft_ms']['p50']:.0f}) |")
PY
