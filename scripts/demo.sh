#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, converts the default target and its DFlash
# drafter, and generates code for a few prompts with speculative decoding, printing the text, the
# speed and the acceptance length.
#
# The embedded default today is the smoke-scale trained pair in tests/fixtures/trained (a 0.64 M
# parameter Qwen3-MoE trained on the Python standard library by scripts/train/train_default.py --scale
# smoke, and a 0.21 M parameter drafter trained on its outputs): real text, real acceptance, but far
# too small to write good code. The full-scale pair (scripts/train, one GPU) replaces it.
# Runs on one rank, or on N with TACHYON_DEMO_RANKS=N (mpirun).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
bin=${TACHYON_BUILD_DIR:-build}/bin/tachyon
work=${TACHYON_BUILD_DIR:-build}/demo
mkdir -p "$work"
default=tests/fixtures/trained
"$bin" convert --from "$default/target" --to "$work/target.h5" --experts mxfp4 --dense bf16 > /dev/null
"$bin" convert --drafter --from "$default/drafter" --to "$work/drafter.h5" > /dev/null
"$bin" inspect "$work/target.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launcher=()
if [ "${TACHYON_DEMO_RANKS:-1}" -gt 1 ]; then launcher=(mpirun --oversubscribe -np "$TACHYON_DEMO_RANKS"); fi
"${launcher[@]}" "$bin" generate --model "$work/target.h5" --drafter "$work/drafter.h5" --block-size 8 \
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
