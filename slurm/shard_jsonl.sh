#!/usr/bin/env bash
# Splits a JSONL (or text) prompt file into N contiguous shards of nearly equal request counts, for
# slurm/tachyon-array.sbatch. Blank lines are dropped (Tachyon skips them anyway). Contiguous shards
# keep input order: concatenating the shards' results in name order gives the whole file's order.
#
#   slurm/shard_jsonl.sh prompts.jsonl 16 shards/     ->  shards/prompts.00.jsonl ... shards/prompts.15.jsonl
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 INPUT.jsonl NUM_SHARDS OUT_DIR" >&2
  exit 2
fi
in=$1 n=$2 dir=$3
[ -r "$in" ] || { echo "$0: cannot read '$in'" >&2; exit 1; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "$0: NUM_SHARDS must be a positive integer, not '$n'" >&2; exit 2; }
mkdir -p "$dir"
stem=$(basename "${in%.*}")
total=$(grep -cv '^[[:space:]]*$' "$in" || true)
width=${#n}; [ "$width" -lt 2 ] && width=2
# Shard k gets lines [k*total/n, (k+1)*total/n): sizes differ by at most one.
awk -v n="$n" -v total="$total" -v dir="$dir" -v stem="$stem" -v width="$width" '
  /^[[:space:]]*$/ { next }
  {
    k = int(i * n / (total > 0 ? total : 1)); i++
    file = sprintf("%s/%s.%0*d.jsonl", dir, stem, width, k)
    if (file != last) { if (last != "") close(last); last = file }
    print > file
  }' "$in"
# Shards past the end of a short file still exist (empty), so that array indexes always match.
for ((k = 0; k < n; k++)); do : >> "$(printf '%s/%s.%0*d.jsonl' "$dir" "$stem" "$width" "$k")"; done
echo "$0: $total requests -> $n shards in $dir"
