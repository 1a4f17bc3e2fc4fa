#!/usr/bin/env python3
# Summarises the expert GEMM probe (session 47 experiment): per launch of the last N launches, from the globaltimer
# stamps of thread 0 of every CTA. Usage: moe_probe.py FILE LAUNCHES
import sys, struct, statistics as st
from collections import defaultdict
path, last = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
total = struct.unpack_from('<Q', data, 0)[0]
n = (len(data) - 8) // 96
recs = [struct.unpack_from('<12Q', data, 8 + i * 96) for i in range(n)]
if total > n:  # the ring wrapped: the oldest record is at total % n
    recs = recs[total % n:] + recs[:total % n]
# A launch's CTAs leave their PDL wait within a few us; launches of one kernel are far more apart: split the records,
# ordered by their wait-out stamp, at gaps of more than 20 us.
recs.sort(key=lambda r: r[2])
launches, cur = [], [recs[0]]
for r in recs[1:]:
    if r[2] - cur[-1][2] > 20000:
        launches.append(cur); cur = []
    cur.append(r)
launches.append(cur)
launches = launches[-last:]
res = defaultdict(lambda: defaultdict(list))
def us(x): return x / 1e3
for l in launches:
    meta = l[0][6]
    busy = [r for r in l if (r[6] & 0xffff) > 0]
    key = f"ctas={len(l)} down={(meta >> 32) & 1} K={l[0][7] >> 32} pairs={(meta >> 40) & 0xffff} S={(meta >> 36) & 15} busy={len(busy)}"
    W = min(r[2] for r in l)
    E = max(r[5] for r in l)
    d = res[key]
    d['first start -> first wait out'].append(us(W - min(r[0] for r in l)))
    d['CTAs starting after first wait out (n)'].append(sum(r[0] > W for r in l))
    d['first wait out -> last end (critical)'].append(us(E - W))
    d['busy CTAs: items max'].append(max((r[6] & 0xffff) for r in l))
    d['busy CTAs: stagings max'].append(max(((r[6] >> 16) & 0xffff) for r in l))
    if busy:
        d['med busy CTA: start rel. first wait out'].append(st.median(us(r[0] - W) for r in busy))
        d['med busy CTA: wait out rel. first wait out'].append(st.median(us(r[2] - W) for r in busy))
        d['med busy CTA: after wait -> tables built'].append(st.median(us(r[8] - r[2]) for r in busy))
        d['med busy CTA: tables -> start done'].append(st.median(us(r[3] - r[8]) for r in busy))
        d['med busy CTA: -> first pass set (pairs)'].append(st.median(us(r[9] - r[3]) for r in busy))
        d['med busy CTA: -> first pass staged'].append(st.median(us(r[4] - r[9]) for r in busy))
        d['med busy CTA: first staged -> end'].append(st.median(us(r[5] - r[4]) for r in busy))
        d['med busy CTA: end rel. first wait out'].append(st.median(us(r[5] - W) for r in busy))
        lastc = max(busy, key=lambda r: r[5])
        d['last CTA: start rel. first wait out'].append(us(lastc[0] - W))
        d['last CTA: wait out rel.'].append(us(lastc[2] - W))
        d['last CTA: tables'].append(us(lastc[8] - lastc[2]))
        d['last CTA: start'].append(us(lastc[3] - lastc[8]))
        d['last CTA: first pass set'].append(us(lastc[9] - lastc[3]))
        d['last CTA: first staged'].append(us(lastc[4] - lastc[9]))
        d['last CTA: staged -> end'].append(us(lastc[5] - lastc[4]))
        d['last CTA: items'].append(lastc[6] & 0xffff)
        d['last CTA: stagings'].append((lastc[6] >> 16) & 0xffff)
    smids = [(r[7] >> 16) & 0xffff for r in l]
    d['distinct SMs'].append(len(set(smids)))
    shared = {sm for sm in smids if smids.count(sm) > 1}
    ends = sorted(us(r[5] - W) for r in busy) if busy else [0]
    d['busy CTA end rel. first wait out: p50'].append(ends[len(ends) // 2])
    d['busy CTA end: p90'].append(ends[len(ends) * 9 // 10])
    d['busy CTA end: max'].append(ends[-1])
    if busy:
        lastc = max(busy, key=lambda r: r[5])
        d['last CTA shares its SM (0/1)'].append(1 if ((lastc[7] >> 16) & 0xffff) in shared else 0)
        d['CTAs ending after p50 + 5 us: on shared SMs (n)'].append(sum(1 for r in busy if us(r[5] - W) > ends[len(ends)//2] + 5 and ((r[7] >> 16) & 0xffff) in shared))
        d['CTAs ending after p50 + 5 us (n)'].append(sum(1 for r in busy if us(r[5] - W) > ends[len(ends)//2] + 5))
        d['busy CTAs starting > 2 us after first wait out (n)'].append(sum(1 for r in busy if us(r[0] - W) > 2))
for key, d in res.items():
    print(f"\n{key}: {len(d['first wait out -> last end (critical)'])} launches (medians over launches, us)")
    for k, v in d.items():
        v = sorted(v)
        print(f"  {k:48s} {st.median(v):8.2f}   (p10 {v[len(v)//10]:7.2f}, p90 {v[len(v)*9//10]:7.2f})")

# Per SM and per CTA index: a busy CTA's item time (first staged -> end, over its items), over the launches of the
# most common key; whether the slow CTAs are the same SMs or the same indices from launch to launch.
from collections import Counter
keys = Counter()
for l in launches:
    meta = l[0][6]
    keys[((meta >> 32) & 1, (meta >> 40) & 0xffff)] += 1
per_sm, per_b, kinds = defaultdict(list), defaultdict(list), defaultdict(list)
slow_sms_of_launch = []
for l in launches:
    busy = [r for r in l if (r[6] & 0xffff) > 0]
    if not busy: continue
    for r in busy:
        per_item = us(r[5] - r[4]) / (r[6] & 0xffff)
        per_sm[(r[7] >> 16) & 0xffff].append(per_item)
        per_b[r[10] & 0xffff].append(per_item)
        kinds[(r[11] & 0xffff, r[11] >> 16)].append(us(r[5] - r[4]))
    lastc = max(busy, key=lambda r: r[5])
    slow_sms_of_launch.append((lastc[7] >> 16) & 0xffff)
allv = sorted(v for vs in per_sm.values() for v in vs)
print(f"\nper-item time over all busy CTAs: p50 {allv[len(allv)//2]:.2f} p90 {allv[len(allv)*9//10]:.2f} us")
sm_mean = sorted(((st.mean(v), sm) for sm, v in per_sm.items()), reverse=True)
print("slowest SMs (mean per-item us):", ", ".join(f"sm{sm}={m:.2f}" for m, sm in sm_mean[:8]), "; fastest:", ", ".join(f"sm{sm}={m:.2f}" for m, sm in sm_mean[-4:]))
b_mean = sorted(((st.mean(v), b) for b, v in per_b.items()), reverse=True)
print("slowest CTA indices (mean per-item us):", ", ".join(f"b{b}={m:.2f}" for m, b in b_mean[:8]), "; fastest:", ", ".join(f"b{b}={m:.2f}" for m, b in b_mean[-4:]))
c = Counter(slow_sms_of_launch)
print("SM of each launch's last CTA, most common:", c.most_common(8), f"of {len(slow_sms_of_launch)} launches")
print("CTA item time by (block-column items, tile items): " + "; ".join(f"{k}: n={len(v)} med {st.median(v):.2f}" for k, v in sorted(kinds.items())))
