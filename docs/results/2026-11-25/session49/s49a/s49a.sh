#!/usr/bin/env bash
# s49a (one GPU): the row-stream linear's loads through a per-group cursor (one scale load a step where the warp's 4
# rows share a block) against the per-step loads (TACHYON_EXP_LS_OLD=1), same binary: GPU linear cases, SASS, the
# linear kernel bench with digests (2 rounds interleaved), Nsight Compute counts on the LM-head rows, 1 x 1 / 2 x 1
# steps; then the cost model's plan sweep with its terms (for a refit).
set -u
source .devdeps/on-device.sh
R=/tmp/s49a; mkdir -p $R
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
trap 'tar czf $OUT/s49a.tgz -C /tmp s49a' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_gpu_tests > $R/build.log 2>&1 || { grep -B2 -A12 error $R/build.log | head -40; exit 1; }
echo "build $(el)"
B=build/bin/tachyon
cuobjdump -sass build/kernels/CMakeFiles/tachyon_kernels_cuda.dir/cuda/linear_stream.cu.o > $R/ls.sass 2>&1; echo "sass rc $?"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests.txt 2>&1; echo "tests rc $? $(grep -E 'test cases|assertions' $R/tests.txt | tail -2 | tr '\n' ' ') $(el)"
grep -m5 -A8 ERROR $R/tests.txt
for r in 1 2; do
  for v in 0 1; do
    TACHYON_EXP_LS_OLD=$v TACHYON_BENCH_DIGEST=1 timeout 120 $B bench kernels --only linear > $R/klin-old$v-r$r.txt 2>&1
    echo "kbench old=$v r$r rc $? $(el)"
  done
done
for v in 0 1; do
  TACHYON_EXP_LS_OLD=$v TACHYON_BENCH_PROFILE=1 timeout 90 ncu -k regex:linear_stream_kernel --metrics gpu__time_duration.sum,smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__average_warp_latency_issue_stalled_long_scoreboard,smsp__average_warp_latency_issue_stalled_lg_throttle $B bench kernels --only linear > $R/ncu-old$v.txt 2>&1
  echo "ncu old=$v rc $? $(el)"
done
for r in 1 2; do
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    for v in 0 1; do
      TACHYON_EXP_LS_OLD=$v timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,2 --tokens 1 --reps 20 > $R/step-$m-old$v-r$r.txt 2>&1
      echo "$m old=$v r$r: $(grep '^| ' $R/step-$m-old$v-r$r.txt | grep -v -- '---' | grep -v '^| model' | awk -F'|' '{printf "%s=%s ", $5, $7}') $(el)"
    done
  done
done
if [ $(( $(date +%s) - t0 )) -lt 430 ]; then
  TACHYON_BENCH_LINEAR_PLANS=1 timeout $(( 560 - ($(date +%s) - t0) )) $B bench kernels --only linear > $R/sweep.txt 2>&1
  echo "sweep rc $? $(el)"
fi
rm -f $R/*.log
echo "total $(el)"
