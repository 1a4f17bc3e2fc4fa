#!/usr/bin/env python3
# Nsight Compute source page (gzipped CSV): executed instructions and stall samples by opcode, the stall reasons, and
# (with a second argument) every line holding more than 0.4% of the samples. Usage: sass_stalls.py sass.csv.gz [x]
import csv, gzip, sys, collections
f = gzip.open(sys.argv[1], 'rt')
r = csv.reader(f)
next(r); hdr = next(r)
idx = {h:i for i,h in enumerate(hdr)}
rows = list(r)
stall_cols = [h for h in hdr if h.startswith('stall_') and 'Not Issued' not in h]
tot_exec = 0; tot_samp = 0
byop = collections.Counter(); sampop = collections.Counter()
stalls = collections.Counter()
lines = []
for i,row in enumerate(rows):
    src = row[idx['Source']].strip()
    ex = int(row[idx['Instructions Executed']] or 0)
    s = int(row[idx['Warp Stall Sampling (All Samples)']] or 0)
    op = src.split()[0] if src else ''
    if op.startswith('@'): op = src.split()[1]
    op = op.split('.')[0]
    byop[op] += ex; sampop[op] += s
    tot_exec += ex; tot_samp += s
    for c in stall_cols:
        v = row[idx[c]]
        if v and v != '-': stalls[c] += int(v)
    lines.append((i, ex, s, src, {c:int(row[idx[c]]) for c in stall_cols if row[idx[c]] not in ('','-','0')}))
print('total executed', tot_exec, 'samples', tot_samp, 'lines', len(rows))
print('by op (executed, % samples):')
for op, ex in byop.most_common(25): print(f'  {op:10s} {ex:9d} {100*ex/tot_exec:5.1f}%  samples {100*sampop[op]/tot_samp:5.1f}%')
print('stalls:')
for c, v in stalls.most_common(12): print(f'  {c:25s} {100*v/tot_samp:5.1f}%')
if len(sys.argv) > 2:
    # regions by execution count
    for i, ex, s, src, st in lines:
        if s > tot_samp * 0.004: print(f'{i:5d} ex={ex:7d} samp={100*s/tot_samp:4.1f}% {src[:60]:60s} {sorted(st.items(), key=lambda x:-x[1])[:3]}')
