#!/usr/bin/env bash
# s39f (one H200): Nsight Compute on attention's batch rows: Qwen3-235B-A22B's layer at batch 32 decode (32 KV-head rows of
# 8 query rows: Qwen3-30B-A3B's 8 x 1 shape, 4 KV heads x 8 sequences) and at batch 8 verify-9 (72 rows a KV head).
set -u
source .devdeps/on-device.sh
R=/tmp/s39f; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s39f.tgz -C /tmp s39f' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
true

export TACHYON_BENCH_PROFILE=1
prof(){ # regex skip tag args...
  local re=$1 skip=$2 tag=$3; shift 3
  timeout 150 ncu --kernel-name-base demangled -k "regex:$re" --launch-skip $skip --launch-count 1 --set full --import-source yes \
    -o $R/$tag -f $B "$@" > $R/ncu-$tag.log 2>&1
  echo "ncu $tag rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$tag.ncu-rep --page details > $R/details-$tag.txt 2>&1
  grep -E 'Duration|Elapsed Cycles|DRAM Throughput|L2 Hit|Registers Per|Grid Size|Block Size|Cluster Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Achieved Occupancy|Theoretical Occupancy|Block Limit|Executed Instructions  ' $R/details-$tag.txt | head -24
  ncu --import $R/$tag.ncu-rep --page raw --csv --metrics smsp__pcsamp_warps_issue_stalled_barrier,smsp__pcsamp_warps_issue_stalled_long_scoreboard,smsp__pcsamp_warps_issue_stalled_short_scoreboard,smsp__pcsamp_warps_issue_stalled_wait,smsp__pcsamp_warps_issue_stalled_math_pipe_throttle,smsp__pcsamp_warps_issue_stalled_mio_throttle,smsp__pcsamp_warps_issue_stalled_lg_throttle,smsp__pcsamp_warps_issue_stalled_membar,smsp__pcsamp_warps_issue_stalled_selected,smsp__pcsamp_warps_issue_stalled_not_selected,smsp__pcsamp_warps_issue_stalled_dispatch_stall,smsp__pcsamp_warps_issue_stalled_no_instructions,smsp__pcsamp_warps_issue_stalled_sleeping,smsp__pcsamp_warps_issue_stalled_misc > $R/stalls-$tag.csv 2>&1
  cat $R/stalls-$tag.csv | tail -2 | cut -c1-900
  ncu --import $R/$tag.ncu-rep --page source --csv --print-source sass > $R/sass-$tag.csv 2>/dev/null; gzip -f $R/sass-$tag.csv
}
prof 'attention_kernel<.int.128, .int.128, .int.4>' 0 decode32 bench kernels --only attention
prof 'attention_kernel<.int.128, .int.128, .int.2>' 0 verify8 bench kernels --only attention
echo "total $(( $(date +%s) - t0 )) s"
