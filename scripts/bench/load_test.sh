#!/usr/bin/env bash
# Issue 9's load measurement: writes a random checkpoint of CONFIG (MXFP4 experts, FP8 dense; the
# Qwen3-235B-A22B shape in scripts/bench/configs/ makes ~130 GB), then times RANKS ranks reading their
# shards of it at once, with the file dropped from the page cache first (`tachyon bench load
# --evict-cache`), onto the GPUs (or add --device cpu). Results: OUT_DIR/load-RANKS.{txt,json}.
# RANKS 0 only writes the checkpoint (where one job may not last for both: the device calls' 10 minutes).
# usage: scripts/bench/load_test.sh TACHYON OUT_DIR CONFIG RANKS [bench load options...]
# e.g.   scripts/bench/load_test.sh build/bin/tachyon /scratch/load scripts/bench/configs/qwen3_235b_a22b.json 8
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n 2,8p "$0"; exit 2; }
tachyon=$1 out=$2 config=$3 ranks=$4
shift 4
mkdir -p "$out"
model=$("$(dirname "$0")/random_checkpoint.sh" "$tachyon" "$config" "$out")
[[ $ranks -gt 0 ]] || exit 0
mpirun -np "$ranks" --bind-to none "$tachyon" bench load --model "$model" --evict-cache --json "$out/load-$ranks.json" "$@" |
  tee "$out/load-$ranks.txt"
