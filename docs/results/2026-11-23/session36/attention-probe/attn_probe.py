#!/usr/bin/env python3
# Summarises the attention probe (session 36 experiment): per launch of the timed steps, phase times from the globaltimer
# stamps of thread 0 of every CTA. Usage: attn_probe.py FILE LAYERS STEPS
import sys, struct, statistics as st
from collections import defaultdict
path, layers, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, 'rb').read()
n = len(data) // 96
recs = [struct.unpack_from('<12Q', data, i * 96) for i in range(n)]
recs = [r for r in recs if r[7] and r[0]]
recs.sort(key=lambda r: r[0])
groups, cur = [], []
for r in recs:
    if cur and r[0] - cur[0][0] > 4000:
        groups.append(cur); cur = []
    cur.append(r)
if cur: groups.append(cur)
print(f"{n} records, {len(groups)} launches; taking the last {layers * steps}")
groups = groups[-layers * steps:]
res = defaultdict(lambda: defaultdict(list))
for g in groups:
    m = g[0][9]
    key = f"C={(m >> 8) & 255} outer={(m >> 16) & 255} ctas={len(g)}"
    T0 = min(r[0] for r in g); W = min(r[2] for r in g); E = max(r[7] for r in g)
    d = res[key]
    d['launch span (first start -> first wait out)'].append((W - T0) / 1e3)
    d['first wait out -> last end'].append((E - W) / 1e3)
    d['first start -> last start'].append((max(r[0] for r in g) - T0) / 1e3)
    d['wait out spread (last - first)'].append((max(r[2] for r in g) - W) / 1e3)
    for name, a, b in [('prologue (start -> before wait)', 0, 1), ('wait', 1, 2), ('q load', 2, 3), ('q load again', 3, 10), ('tiles', 10, 4),
                       ('kw combine + cluster sync', 4, 5), ('cluster combine (+ records, sync)', 5, 6), ('tail (arrival, last combine)', 6, 7)]:
        d['med CTA: ' + name].append(st.median((r[b] - r[a]) / 1e3 for r in g))
    last = max(g, key=lambda r: r[7])
    for name, a, b in [('q load', 2, 3), ('q again', 3, 10), ('tiles', 10, 4), ('kw+sync', 4, 5), ('combine', 5, 6), ('tail', 6, 7)]:
        d['last CTA: ' + name].append((last[b] - last[a]) / 1e3)
    d['last CTA: wait out - first wait out'].append((last[2] - W) / 1e3)
for key, d in res.items():
    print(f"\n{key}: {len(d['wait'] if 'wait' in d else d['first wait out -> last end'])} launches (medians over launches, us)")
    for k, v in d.items():
        print(f"  {k:45s} {st.median(v):7.2f}   (p10 {sorted(v)[len(v)//10]:6.2f}, p90 {sorted(v)[len(v)*9//10]:6.2f})")
