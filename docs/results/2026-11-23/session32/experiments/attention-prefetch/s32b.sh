#!/usr/bin/env bash
# s32b (one H200): a sliding window's keys on one CTA with every old row loaded before the PDL wait
# (TACHYON_EXP_WINDOW_ONE_CTA=1) against the committed 2-CTA cluster, same binary; tests with both.
set -u
source .devdeps/on-device.sh
R=/tmp/s32b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s32b.tgz -C /tmp s32b' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
for e in 0 1; do
  TACHYON_EXP_WINDOW_ONE_CTA=$e timeout 150 build/tests/tachyon_gpu_tests -tc="gpu attention*" > $R/tests-attention-$e.txt 2>&1; echo "attention tests env=$e rc $? $(grep -E 'test cases|assertions' $R/tests-attention-$e.txt | tail -2 | tr '\n' ' ')"
  grep -B3 -A14 "ERROR" $R/tests-attention-$e.txt | head -30
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for e in 1 0; do
  export TACHYON_EXP_WINDOW_ONE_CTA=$e
  timeout 60 build/bin/tachyon bench kernels --only attention > $R/katt-$e-r$r.txt 2>&1
  echo "r$r env=$e katt: $(grep -E '^\| attention' $R/katt-$e-r$r.txt | grep -E 'SWA|gpt-oss' | cut -d'|' -f4,5 | sed -e 's/.*batch/b/' | tr -s ' ' | tr '\n' ' ')"
  m=mimo-v2.5-pro-slice
  timeout 100 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$e-r$r.txt" 2>&1
  echo "r$r env=$e $m: $(row $R/step-$m-$e-r$r.txt)"
done; done
for e in 1 0; do
  export TACHYON_EXP_WINDOW_ONE_CTA=$e
  timeout 60 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1 --reps 10 --timeline $R/tl-mimo-$e.json > $R/tl-mimo-$e.txt 2>&1
  echo "tl env=$e: $(grep -E 'attention_kernel' $R/tl-mimo-$e.txt | cut -d'|' -f2-5 | tr -s ' ' | tr '\n' ' ')"
done
export TACHYON_EXP_WINDOW_ONE_CTA=1
T=$(( 570 - ($(date +%s) - t0) ))
echo "step tests (env=1) with $T s"
timeout $T build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate*" > $R/tests-step.txt 2>&1; echo "step+generate tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-step.txt | head -30
echo "total $(( $(date +%s) - t0 )) s"
