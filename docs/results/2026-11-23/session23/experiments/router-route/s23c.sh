#!/usr/bin/env bash
# s23c (one H200): timelines of the 1 x 1 and 1 x 9 steps, new (router routes), new --no-router-route, old (9845208).
set -u
source .devdeps/on-device.sh
R=/tmp/s23c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s23c.tgz -C /tmp s23c' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
build/tests/tachyon_gpu_tests -tc="gpu moe_router_route*,gpu add_rmsnorm_router*,gpu moe_route*" > $R/tests-route.txt 2>&1; echo "route tests rc $? $(tail -2 $R/tests-route.txt | head -1)"
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do for v in new norr old; do
  B=build/bin/tachyon; X=""; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon; [[ $v == norr ]] && X="--no-router-route"
  left 500 || continue
  $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 $X --timeline $R/tl-$m-$v.json > $R/tl-$m-$v.txt 2>&1
  echo "$m $v: $(grep -E '^\| (mimo|qwen)' $R/tl-$m-$v.txt | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' ')"
  grep -E "route|linear_kernel<\(WeightFormat\)1|norm_router|add_rmsnorm_router|moe_gate_up_one|moe_mma_kernel<\(WeightFormat\)3, \(Proj\)0" $R/tl-$m-$v.txt | cut -c1-110
done; done
echo "total $(( $(date +%s) - t0 )) s"
