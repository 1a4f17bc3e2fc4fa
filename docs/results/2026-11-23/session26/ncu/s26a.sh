#!/usr/bin/env bash
# s26a (one H200): Nsight Compute on the 1 x 9 step's expert GEMMs and FP8 linear (MiMo slice, one GPU).
set -u
source .devdeps/on-device.sh
R=/tmp/s26a; mkdir -p $R
t0=$(date +%s)
trap 'cp $R/*.txt $OUT/ 2>/dev/null; tar czf $OUT/s26a-reps.tgz -C /tmp s26a' EXIT
[ -x build/bin/tachyon ] || { cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }; }
echo "build $(( $(date +%s) - t0 )) s"
B=build/bin/tachyon
grep -E '^\| (mimo|moe_mma|linear_kernel|attention|peer|moe_route|linear_split)' $R/step-tl.txt | cut -c1-150 | head -20
prof(){ # name regex skip tag
  timeout 150 ncu --kernel-name-base demangled -k "regex:$1" --launch-skip $2 --launch-count 1 --set full --import-source yes \
    --graph-profiling node -o $R/$3 -f $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 9 --reps 20 --context 256 > $R/ncu-$3.log 2>&1
  echo "ncu $3 rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$3.ncu-rep --page details --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats --section SchedulerStats --section MemoryWorkloadAnalysis --section SourceCounters --section InstructionStats > $R/details-$3.txt 2>&1
  grep -E 'moe_mma|linear_kernel|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Grid Size|Block Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Eligible Warps' $R/details-$3.txt | head -24
  ncu --import $R/$3.ncu-rep --page raw --csv 2>/dev/null | python3 -c "
import csv,sys
rows=list(csv.reader(sys.stdin))
if len(rows)>2:
  h,u,v=rows[0],rows[1],rows[2]
  st=[(float(v[i]),h[i]) for i in range(len(h)) if h[i].startswith('smsp__average_warp_latency_issue_stalled') or (h[i].startswith('smsp__warp_issue_stalled_') and h[i].endswith('_per_warp_active.pct'))]
  for x,n in sorted(st,reverse=True)[:12]: print('  %8.2f %s'%(x,n))
" 2>&1 | head -14
}
prof 'moe_mma_kernel<.*Proj\)0' 1500 gateup
prof 'moe_mma_kernel<.*Proj\)1' 1500 down
prof 'linear_kernel<\(tachyon::WeightFormat\)2, \(bool\)1, \(int\)2, \(int\)1, \(int\)6' 2900 fp8lin
echo "total $(( $(date +%s) - t0 )) s"
