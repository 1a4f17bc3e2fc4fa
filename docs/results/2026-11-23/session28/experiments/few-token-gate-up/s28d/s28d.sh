#!/usr/bin/env bash
# s28d (one H200): gate_up several-token kernel with x of m rows; K splits 2/4/8, one-tile slots: moe tests, step A/B.
set -u
source .devdeps/on-device.sh
R=/tmp/s28d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s28d.tgz -C /tmp s28d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
true || timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -40
for S in 16; do TACHYON_FEW_SPLITS=$S timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe gate_up at 2-16*" > $R/tests-moe-S$S.txt 2>&1; echo "S=$S gate_up tests rc $? $(grep -E 'assertions' $R/tests-moe-S$S.txt | tail -1)"; done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
run(){ # name "ENV=.." "extra args"
  local name=$1 extra=${3:-}
  env TACHYON_FEW_DEBUG=1 $2 timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 $extra > "$R/step-qwen-$name.txt" 2>&1
  echo "$name: $(row $R/step-qwen-$name.txt) $(grep '^few gate_up' $R/step-qwen-$name.txt | tr '\n' ' ')"
}
for r in 1 2; do
  left 430 && run never-r$r TACHYON_X=1 "--few-token-gate-up never"
  left 430 && run S4one-r$r "TACHYON_FEW_SPLITS=4 TACHYON_FEW_ONE_TILE_SLOTS=1"
  left 430 && run S16-r$r TACHYON_FEW_SPLITS=16
  left 430 && run S16one-r$r "TACHYON_FEW_SPLITS=16 TACHYON_FEW_ONE_TILE_SLOTS=1"
done
echo "total $(( $(date +%s) - t0 )) s"
