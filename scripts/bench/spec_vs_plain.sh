#!/usr/bin/env bash
# Speculative decoding against plain decoding, end to end, as a user runs it: `tachyon generate` over the same
# prompt file with and without the drafter, at each batch size, in one run. Prints output tokens/s, the requests'
# median time per output token, the acceptance length and the ratio.
#
#   scripts/bench/spec_vs_plain.sh TACHYON OUT_DIR [TARGET] [DRAFTER] [PROMPTS]
#   defaults: the embedded default pair (model/default/{target,drafter}.h5) and prompts cut from this machine's
#   Python standard library by scripts/bench/python_prompts.py (64 requests of 256 tokens, greedy).
#   environment: BATCH=1,8 (--max-batch), BLOCK=8 (--block-size), DEVICE=cuda, EXTRA (more `generate` flags for
#   every run, split at spaces, e.g. EXTRA=--batch-invariant).
#   Also prints how many requests' tokens the speculative runs and the other batch sizes share with plain decoding.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,11p "$0"; exit 2; }
tachyon=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
target=${3:-$here/../../model/default/target.h5}
drafter=${4:-$here/../../model/default/drafter.h5}
prompts=${5:-$out/prompts.jsonl}
batch=${BATCH:-1,8} block=${BLOCK:-8} device=${DEVICE:-cuda}
read -r -a more <<< "${EXTRA:-}"
mkdir -p "$out"
[[ -f "$prompts" ]] || python3 "$here/python_prompts.py" --out "$prompts"

for b in ${batch//,/ }; do
  for mode in plain spec; do
    extra=()
    [[ $mode == spec ]] && extra=(--drafter "$drafter" --block-size "$block")
    "$tachyon" generate --model "$target" "${extra[@]}" ${more[@]+"${more[@]}"} --prompts "$prompts" --out "$out/results-$mode-$b.jsonl" \
      --device "$device" --max-batch "$b" --progress off --metrics-json "$out/metrics-$mode-$b.json" \
      > "$out/generate-$mode-$b.log" 2>&1 || { tail -20 "$out/generate-$mode-$b.log"; exit 1; }
  done
done

python3 - "$out" "$batch" "$prompts" <<'PY'
import json, statistics, sys
out, batches, prompts = sys.argv[1], [int(b) for b in sys.argv[2].split(",")], sys.argv[3]
def load(mode, b):
    m = json.load(open(f"{out}/metrics-{mode}-{b}.json"))
    a = m["aggregate"]
    return a, statistics.median(r["tpot_ms"] for r in m["requests"])
def tokens(mode, b):
    rows = [json.loads(line) for line in open(f"{out}/results-{mode}-{b}.jsonl")]
    return {json.dumps(r["id"]): r["token_ids"] for r in rows if "error" not in r and r.get("token_ids") is not None}
def same(a, b):
    return sum(1 for k in a if k in b and a[k] == b[k])
ref = tokens("plain", batches[0])
print(f"\n`tachyon generate`, plain against speculative, prompts {prompts}")
print(f"| batch | plain output tokens/s (TPOT median ms) | speculative output tokens/s (TPOT median ms) | acceptance length | "
      f"speculative / plain | speculative: draft s, verify s, steps | requests as plain at this batch (speculative; plain "
      f"at batch {batches[0]}) |")
print("|---|---|---|---|---|---|---|")
for b in batches:
    (p, pt), (s, st) = load("plain", b), load("spec", b)
    plain_b = tokens("plain", b)
    print(f"| {b} | {p['output_tokens_per_s']:.0f} ({pt:.3f}) | {s['output_tokens_per_s']:.0f} ({st:.3f}) | "
          f"{s['acceptance_length']:.2f} | {s['output_tokens_per_s'] / p['output_tokens_per_s']:.2f}x | "
          f"{s.get('draft_s', 0):.2f}, {s.get('verify_s', 0):.2f}, {s['steps']} | "
          f"{same(tokens('spec', b), plain_b)}; {same(plain_b, ref)} of {len(ref)} |")
PY
