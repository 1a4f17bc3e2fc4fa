#!/usr/bin/env bash
# The random checkpoint of a config.json that the bench scripts run on (MXFP4 experts, FP8 dense, seed 1):
# writes OUT_DIR/<config name>.h5 unless it is there (its log in OUT_DIR/convert.log) and prints its path last.
#   scripts/bench/random_checkpoint.sh TACHYON CONFIG OUT_DIR
set -euo pipefail
[[ $# -eq 3 ]] || { sed -n 2,4p "$0"; exit 2; }
tachyon=$1 config=$2 out=$3
mkdir -p "$out"
model="$out/$(basename "$config" .json).h5"
if [[ ! -f "$model" ]]; then
  SECONDS=0
  "$tachyon" convert --random-config "$config" --seed 1 --experts mxfp4 --dense fp8 --to "$model" > "$out/convert.log" 2>&1
  echo "wrote $model ($(du -h "$model" | cut -f1)) in ${SECONDS} s" >&2
fi
echo "$model"
