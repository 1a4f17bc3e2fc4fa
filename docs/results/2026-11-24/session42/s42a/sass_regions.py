#!/usr/bin/env python3
# Nsight Compute source page (--page source --csv --print-source sass, gzipped): runs of SASS lines with the same
# execution count (a loop body, a staging pass, the epilogue), each with its share of executed instructions and of
# stall samples and its commonest opcodes. Usage: sass_regions.py sass-fp8-m72.csv.gz
import csv, gzip, sys, collections
f = gzip.open(sys.argv[1], 'rt'); r = csv.reader(f); next(r); hdr = next(r); idx = {h:i for i,h in enumerate(hdr)}
rows = list(r)
tot_s = sum(int(x[idx['Warp Stall Sampling (All Samples)']] or 0) for x in rows)
tot_e = sum(int(x[idx['Instructions Executed']] or 0) for x in rows)
# contiguous regions with same exec count
regs = []
cur = None
for i,row in enumerate(rows):
    ex = int(row[idx['Instructions Executed']] or 0); s = int(row[idx['Warp Stall Sampling (All Samples)']] or 0)
    op = row[idx['Source']].strip()
    if cur and cur[2] == ex:
        cur[1] = i; cur[3] += ex; cur[4] += s; cur[5][op.split()[0] if not op.startswith('@') else op.split()[1]] += 1
    else:
        if cur: regs.append(cur)
        cur = [i, i, ex, ex, s, collections.Counter()]
regs.append(cur)
for a,b,ex,te,s,ops in regs:
    if te > tot_e*0.005 or s > tot_s*0.005:
        top = ', '.join(f'{k.split(".")[0]}:{v}' for k,v in ops.most_common(5))
        print(f'{a:5d}-{b:5d} n={b-a+1:4d} ex/line={ex:6d} exec={100*te/tot_e:5.1f}% samp={100*s/tot_s:5.1f}%  {top}')
