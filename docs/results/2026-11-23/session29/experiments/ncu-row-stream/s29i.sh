#!/usr/bin/env bash
# s29i (one H200): Nsight Compute on the row-stream linear at MiMo-V2.5-Pro's LM-head slice [19072, 6144], one row: BF16 (85% of copy) against FP8 (65%).
set -u
source .devdeps/on-device.sh
R=/tmp/s29i; mkdir -p $R
t0=$(date +%s)
trap 'cp $R/*.txt $OUT/ 2>/dev/null; tar czf $OUT/s29i-reps.tgz -C /tmp s29i' EXIT
[ -x build/bin/tachyon ] || { cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }; }
B=build/bin/tachyon
export TACHYON_BENCH_PROFILE=1
prof(){ # regex skip tag
  timeout 120 ncu --kernel-name-base demangled -k "regex:$1" --launch-skip $2 --launch-count 1 --set full --import-source yes \
    --graph-profiling node -o $R/$3 -f $B bench kernels --only linear > $R/ncu-$3.log 2>&1
  echo "ncu $3 rc $? $(( $(date +%s) - t0 )) s"
  ncu --import $R/$3.ncu-rep --page details --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats --section SchedulerStats --section MemoryWorkloadAnalysis --section SourceCounters --section InstructionStats > $R/details-$3.txt 2>&1
  grep -E 'Duration|DRAM Throughput|Achieved Occupancy|Registers Per|Grid Size|Block Size|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Active Warps Per Scheduler|Eligible Warps|Executed Ipc A' $R/details-$3.txt | head -16
  ncu --import $R/$3.ncu-rep --page raw --csv 2>/dev/null | python3 -c "
import csv,sys
rows=list(csv.reader(sys.stdin))
h,v=rows[0],rows[2]
st=[]
for i,n in enumerate(h):
  if n.startswith('smsp__average_warp_latency_issue_stalled_') and n.endswith('.ratio'):
    try: st.append((float(v[i].replace(',','')),n[len('smsp__average_warp_latency_issue_stalled_'):]))
    except: pass
print('  stalls (cycles a issued instruction):', ', '.join('%s %.2f'%(n,x) for x,n in sorted(st,reverse=True)[:10]))
" 2>&1 | head -3
  ncu --import $R/$3.ncu-rep --page source --csv --print-source sass > $R/sass-$3.csv 2>/dev/null
  python3 - $R/sass-$3.csv <<'PY' 2>&1 | head -32
import csv,sys
rows=list(csv.reader(open(sys.argv[1])))
hi=[i for i,r in enumerate(rows) if any('Source' == c for c in r)]
if not hi: print('no source header'); sys.exit()
h=rows[hi[0]]; body=rows[hi[0]+1:]
ci=[i for i,c in enumerate(h) if c.startswith('Warp Stall Sampling (All')]
si=h.index('Source')
if not ci: print(h); sys.exit()
c=ci[0]
def f(x):
  try: return float(x.replace(',',''))
  except: return 0.0
tot=sum(f(r[c]) for r in body if len(r)>c)
print('  samples', tot)
for r in sorted(body,key=lambda r:-f(r[c]) if len(r)>c else 0)[:28]:
  print('  %5.1f%% %s' % (100*f(r[c])/max(tot,1), r[si][:110]))
PY
}
prof 'linear_stream_kernel' 0 bf16-m1
prof 'linear_stream_kernel' 2 fp8-m1
echo "total $(( $(date +%s) - t0 )) s"
