#!/usr/bin/env bash
# Tachyon against PyTorch + transformers on the same GPU, in the same run (DESIGN.md section 6): `tachyon
# bench step` decoding the Qwen3-30B-A3B shape at 1 token per step (random weights: MXFP4 experts, FP8
# dense) and scripts/bench/peer_transformers.py decoding the same shape (random BF16 weights), at the
# same context and batch sizes, one after the other. Prints tokens/s of both and their ratio per batch.
#
#   scripts/bench/step_vs_peer.sh [TACHYON] [OUT_DIR]
#   environment: BATCH=1,8  CONTEXT=4096  PEER_TIMEOUT=600 (seconds; the peer's results so far are used). The
#   default leaves room for torch.compile: on one H200 (2026-11-24) the whole peer took about 260 s, its compiled
#   first steps 77 s at batch 1 and 133 s at batch 8.
set -euo pipefail
tachyon=${1:-build/bin/tachyon}
out=${2:-results/step-vs-peer}
batch=${BATCH:-1,8}
context=${CONTEXT:-4096}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

"$tachyon" bench step --model qwen3-30b-a3b --tokens 1 --seqs "$batch" --context "$context" --json "$out/step.json"
# A peer stopped by the time limit (torch.compile can take minutes) still leaves its finished lines.
timeout "${PEER_TIMEOUT:-600}" python3 "$here/peer_transformers.py" --batch "$batch" --context "$context" \
  | tee "$out/peer.jsonl" || echo "peer: stopped early (time limit or error); using the settings it finished"

python3 - "$out/step.json" "$out/peer.jsonl" <<'PY'
import json, sys
step = json.load(open(sys.argv[1]))
peer = [json.loads(l) for l in open(sys.argv[2]) if l.strip().startswith("{")]
best = {}
for r in peer:
    if "tokens_per_s" in r and r["tokens_per_s"] > best.get(r["batch"], {}).get("tokens_per_s", 0):
        best[r["batch"]] = r
print(f"\n{step['device']}, {step['date']}: Qwen3-30B-A3B shape, greedy decode, 1 token per sequence per step")
print("| batch | context | tachyon tokens/s (x roofline) | transformers tokens/s (setting) | ratio |")
print("|---|---|---|---|---|")
for s in step["steps"]:
    p = best.get(s["seqs"])
    if s["tokens_per_seq"] != 1 or p is None:
        continue
    print(f"| {s['seqs']} | {s['context']} | {s['tokens_per_s']:.0f} ({s['x_roofline']:.2f}) | "
          f"{p['tokens_per_s']:.1f} ({p['setting']}) | {s['tokens_per_s'] / p['tokens_per_s']:.1f}x |")
PY
