#!/usr/bin/env bash
# s42f (one GPU): attention's S tile written afresh by its first k-step (new = working tree, build/) against HEAD's
# attention.cu (old, /tmp/build-oa): the kernel bench's attention rows with digests (same bits?), GPU tests on new
# (attention, the bench digest, CUDA step, drafter, generate), the step of Qwen3-30B-A3B and the MiMo slice, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s42f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s42f.tgz -C /tmp s42f' EXIT
nvidia-smi --query-gpu=name --format=csv,noheader
for v in oa; do
  rm -rf /tmp/src-$v && mkdir -p /tmp/src-$v && cp -r CMakeLists.txt apps runtime comm kernels model scripts tests cmake /tmp/src-$v/ 2>/dev/null
  (cd .dev/$v && find . -type f | while read f; do cp $f /tmp/src-$v/$f; done)
  (cmake -S /tmp/src-$v -B /tmp/build-$v -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-$v.log 2>&1 && cmake --build /tmp/build-$v -j 6 --target tachyon > $R/build-$v.log 2>&1) &
done
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 10 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
wait
[ -x /tmp/build-oa/bin/tachyon ] || { tail -30 $R/build-oa.log; exit 1; }
echo "builds $(( $(date +%s) - t0 )) s"
declare -A BIN=([old]=/tmp/build-oa/bin/tachyon [new]=build/bin/tachyon)
for v in new old; do TACHYON_BENCH_DIGEST=1 timeout 90 ${BIN[$v]} bench kernels --only attention > $R/attn-$v.txt 2>&1; echo "bench $v rc $?"; done
paste -d'#' <(grep "^| attention" $R/attn-new.txt | grep -o "digest [0-9a-f]*") <(grep "^| attention" $R/attn-old.txt | grep -o "digest [0-9a-f]*") | awk -F'#' '{n++; if ($1 != $2) d++} END {printf "digests new vs old: %d rows, %d differ\n", n, d}'
paste -d'#' <(grep "^| attention" $R/attn-new.txt | awk -F'|' '{sub(/, q .*batch/, " b", $4); sub(/ digest.*/, "", $4); print $2 $3 $4 $5}') <(grep "^| attention" $R/attn-old.txt | awk -F'|' '{print $5}') | cut -c1-140
timeout 200 build/tests/tachyon_gpu_tests -tc="gpu attention*,gpu bench*,cuda *,tachyon generate*,generate*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(( $(date +%s) - t0 )) s"
row() { grep "^| $2 " $1 | awk -F'|' '{printf "%s=%s (x%s) ", $5, $7, $14}'; }
for r in 1 2; do
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    for v in new old; do
      [ $(( $(date +%s) - t0 )) -gt 545 ] && break
      timeout 100 ${BIN[$v]} bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > "$R/step-$v-$m-r$r.txt" 2>&1; echo "r$r $v $m: $(row $R/step-$v-$m-r$r.txt $m)"
    done
  done
done
echo "total $(( $(date +%s) - t0 )) s"
