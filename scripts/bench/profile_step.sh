#!/usr/bin/env bash
# Where one step's time goes, kernel by kernel: runs `tachyon bench step --profile` under Nsight Compute,
# which times every kernel of one step per shape (each kernel alone, serialized: the gaps between kernels
# are not in these figures; `bench step` gives the whole step), and prints the kernels grouped by name:
# launches, total and mean microseconds, share of the kernels' sum.
# usage: scripts/bench/profile_step.sh TACHYON_BINARY OUT_DIR [bench step options...]
# e.g.   scripts/bench/profile_step.sh build/bin/tachyon results/profile --model qwen3-30b-a3b --seqs 1 --tokens 1
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,7p "$0"; exit 2; }
tachyon=$1 out=$2
shift 2
command -v ncu >/dev/null || { echo "profile_step.sh: ncu (Nsight Compute) is not on PATH" >&2; exit 1; }
mkdir -p "$out"
# --graph-profiling node: every node of a replayed CUDA graph is profiled as its own kernel.
ncu --profile-from-start off --graph-profiling node --metrics gpu__time_duration.sum --csv --print-units base \
  "$tachyon" bench step --profile --reps 3 "$@" > "$out/ncu.csv" 2> "$out/ncu.log"
python3 "$(dirname "$0")/summarize_ncu.py" "$out/ncu.csv" | tee "$out/summary.md"
