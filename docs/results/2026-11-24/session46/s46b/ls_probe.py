#!/usr/bin/env python3
# Summarises the linear-stream probe (session 46 experiment): per launch of the last N launches, from the globaltimer
# stamps of thread 0 of every CTA. Usage: ls_probe.py FILE LAUNCHES
import sys, struct, statistics as st
from collections import defaultdict
path, last = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
n = len(data) // 64
recs = [struct.unpack_from('<8Q', data, i * 64) for i in range(n)]
launches, i = [], 0
while i < n:
    grid = (recs[i][5] >> 16) & 0xffff
    launches.append(recs[i:i + grid]); i += grid
launches = [l for l in launches if all(r[7] == 1 for r in l)][-last:]
res = defaultdict(lambda: defaultdict(list))
for l in launches:
    m = l[0][6]
    key = f"rows={m & 0xfffff} cols={(m >> 20) & 0xfffff} ntok={(m >> 40) & 15} wk={(m >> 44) & 15} steps<= {max(r[6] >> 48 for r in l)} ctas={len(l)}"
    T0 = min(r[0] for r in l); W = min(r[2] for r in l); E = max(r[4] for r in l)
    d = res[key]
    d['first start -> first wait out'].append((W - T0) / 1e3)
    d['first start -> last start'].append((max(r[0] for r in l) - T0) / 1e3)
    d['CTAs starting after the first wait out (%)'].append(100.0 * sum(r[0] > W for r in l) / len(l))
    d['first wait out -> last end'].append((E - W) / 1e3)
    d['wait out spread (last - first)'].append((max(r[2] for r in l) - W) / 1e3)
    d['med CTA: preload issue (start -> before wait)'].append(st.median((r[1] - r[0]) / 1e3 for r in l))
    d['med CTA: x staged (after wait -> synced)'].append(st.median((r[3] - r[2]) / 1e3 for r in l))
    d['med CTA: compute + write (-> end)'].append(st.median((r[4] - r[3]) / 1e3 for r in l))
    d['med CTA: end - first wait out'].append(st.median((r[4] - W) / 1e3 for r in l))
    lastc = max(l, key=lambda r: r[4])
    d['last CTA: start - first wait out'].append((lastc[0] - W) / 1e3)
    d['last CTA: wait out - first wait out'].append((lastc[2] - W) / 1e3)
    d['last CTA: x staged'].append((lastc[3] - lastc[2]) / 1e3)
    d['last CTA: compute + write'].append((lastc[4] - lastc[3]) / 1e3)
    d['last CTA: sm'].append(lastc[5] >> 32)
for key, d in res.items():
    print(f"\n{key}: {len(d['first wait out -> last end'])} launches (medians over launches, us)")
    for k, v in d.items():
        v = sorted(v)
        print(f"  {k:48s} {st.median(v):8.2f}   (p10 {v[len(v)//10]:7.2f}, p90 {v[len(v)*9//10]:7.2f})")
