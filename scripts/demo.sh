#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, makes the default model, generates.
# Until a trained model exists the default is a small random MoE model that this script generates
# deterministically (scripts/demo/random_model.json, seed 1); its output is token ids, not text.
# Runs on one rank, or on N with TACHYON_DEMO_RANKS=N (mpirun).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
bin=${TACHYON_BUILD_DIR:-build}/bin/tachyon
work=${TACHYON_BUILD_DIR:-build}/demo
mkdir -p "$work"
model=$work/default-model.h5
if [ ! -f "$model" ]; then
  "$bin" convert --random-config scripts/demo/random_model.json --seed 1 --to "$model" --experts mxfp4 --dense bf16
fi
"$bin" inspect "$model"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launcher=()
if [ "${TACHYON_DEMO_RANKS:-1}" -gt 1 ]; then launcher=(mpirun --oversubscribe -np "$TACHYON_DEMO_RANKS"); fi
"${launcher[@]}" "$bin" generate --model "$model" --prompts scripts/demo/prompts.jsonl --out "$work/results.jsonl"
echo
echo "results ($work/results.jsonl):"
cat "$work/results.jsonl"
