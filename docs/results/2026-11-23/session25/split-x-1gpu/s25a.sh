#!/usr/bin/env bash
# s25a (one H200): the routers on the tensor cores with x split in three (new) against 2ebb829 (old): GPU tests,
# the linear kernel bench (router rows), the step on one GPU interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s25a; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s25a.tgz -C /tmp s25a' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A8 "ERROR" $R/tests-linear.txt | head -40
timeout 200 build/tests/tachyon_gpu_tests -tc="*cuda step*,tachyon generate --device cuda gives*,gpu moe*" > $R/tests-step.txt 2>&1; echo "step/generate/moe tests rc $? $(grep -E 'test cases|assertions' $R/tests-step.txt | tail -2 | tr '\n' ' ')"
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  timeout 200 $B bench kernels --only linear > $R/kernels-linear-$v.txt 2>&1
  echo "kernels $v: rc $?"; grep -E "router" $R/kernels-linear-$v.txt | cut -c1-160
done
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,12,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  left 520 || continue
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$m-$v-r$r.txt" 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
echo "total $(( $(date +%s) - t0 )) s"
