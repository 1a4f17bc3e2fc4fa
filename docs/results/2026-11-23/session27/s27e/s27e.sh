#!/usr/bin/env bash
# s27e (one H200): the final code (FewTokenDown::Auto, K >= 512): moe tests, and the step with auto / never / always
# interleaved (same binary).
set -u
source .devdeps/on-device.sh
R=/tmp/s27e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s27e.tgz -C /tmp s27e' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu moe*" > $R/tests-moe.txt 2>&1; echo "moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-moe.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A12 "ERROR" $R/tests-moe.txt | head -40
timeout 100 build/tests/tachyon_gpu_tests -tc="*cuda step*" > $R/tests-step.txt 2>&1; echo "cuda step tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,9,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in auto never always; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    left 470 || continue
    [[ $m == qwen3-30b-a3b && $v == always ]] && continue  # Qwen's K = 768: always is auto
    timeout 80 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --few-token-down $v > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
build/bin/tachyon bench step --few-token-down sometimes > $R/bad-option.txt 2>&1; echo "bad option rc $? $(tail -1 $R/bad-option.txt)"
echo "total $(( $(date +%s) - t0 )) s"
