#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, and generates code for a few prompts with
# speculative decoding, printing the text, the speed and the acceptance length.
#
# The embedded default is model/default (model/default/README.md): an 8-layer Qwen3-MoE (19 M
# parameters, 16 experts top-4, MXFP4 experts and FP8 dense matrices) trained from scratch on one GPU on
# the Python standard library by scripts/train/train_default.py --scale full, and its 3-layer DFlash
# drafter (FP8), trained on the target's own generations. Small: it writes Python-looking code, not
# good code.
# Runs on one rank, or on N with TACHYON_DEMO_RANKS=N (mpirun).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
bin=${TACHYON_BUILD_DIR:-build}/bin/tachyon
work=${TACHYON_BUILD_DIR:-build}/demo
mkdir -p "$work"
default=model/default
"$bin" inspect "$default/target.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launcher=()
if [ "${TACHYON_DEMO_RANKS:-1}" -gt 1 ]; then launcher=(mpirun --oversubscribe -np "$TACHYON_DEMO_RANKS"); fi
"${launcher[@]}" "$bin" generate --model "$default/target.h5" --drafter "$default/drafter.h5" --block-size 8 \
  --prompts scripts/demo/prompts.jsonl --out "$work/results.jsonl" --device auto
echo
python3 - "$work/results.jsonl" scripts/demo/prompts.jsonl <<'PY' || cat "$1"
import json, sys
prompts = {json.loads(l)["id"]: json.loads(l)["prompt"] for l in open(sys.argv[2])}
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"=== {r['id']}  ({r['usage']['completion_tokens']} tokens, acceptance length {r['metrics']['accept_len']:.2f})")
    print(prompts[r["id"]] + r.get("text", ""))
PY
