#!/usr/bin/env bash
# s28f (one H200): padded ring rows (one bulk copy a row) in the several-token kernels: moe tests, step A/B against
# unpadded (TACHYON_FEW_NO_PAD) and the persistent gate_up (never), same binary.
set -u
source .devdeps/on-device.sh
R=/tmp/s28f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s28f.tgz -C /tmp s28f' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -40
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
run(){ # model name "ENV=.." "extra args"
  local model=$1 name=$2 extra=${4:-}
  env TACHYON_X=1 $3 timeout 80 build/bin/tachyon bench step --model $model --moe-parallel tp --seqs 1,8 --tokens 9,1 --reps 20 $extra > "$R/step-$model-$name.txt" 2>&1
  echo "$model $name: $(row $R/step-$model-$name.txt)"
}
for r in 1 2; do
  left 450 && run qwen3-30b-a3b pad-r$r TACHYON_Y=1
  left 450 && run qwen3-30b-a3b nopad-r$r TACHYON_FEW_NO_PAD=1
  left 450 && run qwen3-30b-a3b pad-gunever-r$r TACHYON_Y=1 "--few-token-gate-up never"
  left 450 && run qwen3-30b-a3b nopad-gunever-r$r TACHYON_FEW_NO_PAD=1 "--few-token-gate-up never"
  left 450 && run mimo-v2.5-pro-slice pad-downalways-gunever-r$r TACHYON_Y=1 "--few-token-gate-up never --few-token-down always"
  left 450 && run mimo-v2.5-pro-slice nopad-downalways-gunever-r$r TACHYON_FEW_NO_PAD=1 "--few-token-gate-up never --few-token-down always"
done
echo "total $(( $(date +%s) - t0 )) s"
