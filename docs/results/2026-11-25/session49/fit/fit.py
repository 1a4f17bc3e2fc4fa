#!/usr/bin/env python3
"""Refit of the dense linear's launch-plan cost model (kernels/cuda/linear.cu: evaluate / choose_plan /
choose_launch) to the plan sweep measured on one H100 (sweep-h100.txt).  Standard library only.

    python3 fit.py             # sections 1-7 below (~40 s)
    python3 fit.py --explore   # also the free multi-parameter fits of every form with LOMO (~7 min)

  1. parse the sweep into cases (format, model, matrix, m) -> {plan that ran: (mean measured us, terms)}; a forced
     plan that did not fit in shared memory ran another plan, so plans are keyed by what ran;
  2. replicate evaluate() from the printed terms (model_us) and choose_plan / choose_launch (the model's own row);
  3. score constants: per case the plan the replica chooses, its measured us, regret against the best measured plan;
  4. search constants and forms minimising the total measured us of the chosen plans (multi-start coordinate
     descent on log grids, plateau centres), each with a leave-one-model-out (LOMO) check;
  5. the proposal (kHbm = 0.95 x copy bandwidth, p-norm overlap p = 4): totals, bands, every changed case;
  6. sensitivity of the chosen plans to kHbmBytesPerUs and to p;
  7. the FMA path at m = 1, 2 and the older H200 sweep (nine MiMo FP8 cases) as side checks.
"""
import math
import random
import re
import sys
from collections import OrderedDict, defaultdict

HERE = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'
SWEEP = HERE + '/../s49a/sweep.txt'  # s49a's plan sweep (one H100)
SMS = 132          # H100 SXM and H200 both have 132 SMs
GRANULE = 128      # kGranule: 128 for every format / path of these kernels (K slices are multiples of it)

# The C++ constants today (kernels/cuda/linear.cu, evaluate()).
CUR = OrderedDict(hbm=4.0e6, l2=8.0e6, dsmem=1.0e5, fixed=4.0, dec=15.0e3, lat_mma=2.0, lat_fma=3.0)

# ==========================================================================================================
# 1. Parsing
# ==========================================================================================================
_CHOSEN = re.compile(r'^(\S+) \[(\d+), (\d+)\] m=(\d+) \(([^)]*)\)(?: ran \((\d+), (\d+), (\d+)\) (.*))?$')
_FORCED = re.compile(r'^(\S+) m=(\d+) plan \((\d+), (\d+)\) ran \((\d+), (\d+), (\d+)\) (.*)$')
_KV = re.compile(r'(\w+)=([-0-9.e+]+)')


def _terms(s):
    t = {k: float(v) for k, v in _KV.findall(s)}
    for k in ('groups', 'ctas', 'waves', 'per_sm', 'mma', 'decode'):
        t[k] = int(t[k])
    return t


def _new_case(key, shape):
    rows, cols = shape if shape else (None, None)
    return {'key': key, 'fmt': key[0], 'model': key[1], 'matrix': key[2], 'm': key[3], 'rows': rows, 'cols': cols,
            'chosen': None, 'plans': OrderedDict(), 'forced_map': {}, 'forced_rows': 0, 'fell_back': 0, 'broken': False}


def parse(path=SWEEP):
    """-> (copy GB/s, OrderedDict case key (fmt, model, matrix, m) -> case).  A case's 'plans' maps the plan that
    actually ran, (splits, tiles/warp, tile_rows, token groups), to {'meas': [us...], 'us': mean, 't': terms};
    'chosen' is the plan of the cost model's own row (None where that row is the row stream)."""
    copy, cases, shapes = None, OrderedDict(), {}
    for line in open(path):
        if copy is None and 'copy bandwidth' in line:
            copy = float(re.search(r'copy bandwidth (\d+) GB/s', line).group(1))
        if not line.startswith('| linear'):
            continue
        kernel, model, shape, us = [c.strip() for c in line.split('|')[1:5]]
        us = float(us)
        if 'fp32 x' in kernel:
            continue  # routers (FP32 x): not swept
        fmt = kernel.split()[1].rstrip(',')
        if '(clusters)' in kernel:  # m = 1, 2: the cluster launcher's own plan (no terms): kept for reference only
            mm = re.match(r'^(\S+) \[\d+, \d+\] m=(\d+) \(splits (\d+), tiles/warp (\d+)\)$', shape)
            key = (fmt, model, mm.group(1), int(mm.group(2)))
            cases.setdefault(key, _new_case(key, None))['clusters'] = ((int(mm.group(3)), int(mm.group(4))), us)
            continue
        if 'forced' in kernel:
            mm = _FORCED.match(shape)
            matrix, m = mm.group(1), int(mm.group(2))
            want = (int(mm.group(3)), int(mm.group(4)))
            ran = tuple(int(mm.group(i)) for i in (5, 6, 7))
            t = _terms(mm.group(8))
            key = (fmt, model, matrix, m)
            case = cases.setdefault(key, _new_case(key, shapes.get((model, matrix))))
            case['forced_rows'] += 1
            case['fell_back'] += (ran[0], ran[1]) != want
            case['forced_map'][want] = ran + (t['groups'],)
        else:
            mm = _CHOSEN.match(shape)
            matrix, rows, cols, m = mm.group(1), int(mm.group(2)), int(mm.group(3)), int(mm.group(4))
            shapes[(model, matrix)] = (rows, cols)
            key = (fmt, model, matrix, m)
            case = cases.setdefault(key, _new_case(key, (rows, cols)))
            case['rows'], case['cols'] = rows, cols
            if mm.group(6) is None:  # "(row stream)" at m = 1, 2
                case['row_stream_us'] = us
                continue
            ran = tuple(int(mm.group(i)) for i in (6, 7, 8))
            t = _terms(mm.group(9))
        if ran[0] == 0:  # "ran (0, 0, 0)": another path without terms (the drafter's down at m = 64)
            case['broken'] = True
            continue
        pk = ran + (t['groups'],)
        if 'forced' not in kernel:
            case['chosen'] = pk
        case['plans'].setdefault(pk, {'meas': [], 't': t})['meas'].append(us)
    for c in cases.values():
        c['broken'] = c['broken'] or not c['plans']
        for pk, p in c['plans'].items():
            p['us'] = sum(p['meas']) / len(p['meas'])  # deduplicated by the plan that ran: mean of its rows
            p['best'] = False
        if c['plans']:
            b = min(c['plans'], key=lambda k: c['plans'][k]['us'])
            c['best_us'] = c['plans'][b]['us']
            c['best_plan'] = b
    return copy, cases


# ==========================================================================================================
# 2. The cost model (a replica of evaluate(), plus optional changes of form)
# ==========================================================================================================
# P: constants.  Form switches (absent = the C++):
#   red_wave   : the cluster reduction inside the wave term, per CTA: waves * (cta_us + fixed + red) (C++: added once)
#   red_split  : multiply the reduction by (splits - 1) (partial sums read from every other rank)
#   tile_us    : extra fixed us per tile a warp (per wave): waves * (cta_us + fixed + tile_us * tpw)
#   split_us   : extra fixed us per split rank beyond the first (per wave)
#   per_cta    : us per CTA of the launch (launch / scheduling), added once
#   cslots     : 8-CTA clusters co-resident per occupancy slot (C++: 15); waves recomputed
#   overlap_p  : p-norm instead of max(t_hbm, wave time): (t_hbm^p + wave^p)^(1/p) (C++: max, p = infinity)
#   frac_waves : ctas / slots (at least 1) instead of the whole number of waves
def plan_us(pk, t, P):
    splits, tpw = pk[0], pk[1]
    lat = P['lat_mma'] if t['mma'] else P['lat_fma']
    cta_us = t['cta_bytes'] * lat / t['in_flight']
    if t['decode']:
        cta_us = max(cta_us, t['cta_elems'] / P['dec'])
    t_hbm = t['wbytes'] / P['hbm']
    waves = t['waves']
    if P.get('frac_waves'):  # a partial last wave costs its fraction (resident CTAs share the SMs' bandwidth)
        slots = SMS * t['per_sm'] if splits < 8 else min(SMS, 15 * 8) * t['per_sm']
        waves = max(1.0, t['ctas'] / slots)
    if 'cslots' in P:
        slots = SMS * t['per_sm']
        if splits == 8:
            slots = min(slots, int(round(P['cslots'])) * t['per_sm'] * 8)
        waves = -(-t['ctas'] // slots)
    red = t['red_bytes'] / P['dsmem'] if splits > 1 else 0.0
    if P.get('red_split'):
        red *= splits - 1
    per_wave = cta_us + P['fixed'] + P.get('tile_us', 0.0) * tpw + P.get('split_us', 0.0) * (splits - 1)
    if P.get('red_wave'):
        per_wave += red
        red = 0.0
    wave_t = waves * per_wave
    p = P.get('overlap_p')
    core = max(t_hbm, wave_t) if not p else (t_hbm ** p + wave_t ** p) ** (1.0 / p)
    return core + t['x_bytes'] / P['l2'] + red + P.get('per_cta', 0.0) * t['ctas']


def auto_eligible(case, pk):
    """choose_plan() without a request: no 3 tiles a warp; the tensor-core path takes 4 tiles a warp only at 8
    splits; no more splits than K granules (forced plans skip that test, so the sweep ran some anyway)."""
    splits, tpw = pk[0], pk[1]
    if tpw == 3 or (case['plans'][pk]['t']['mma'] and tpw == 4 and splits < 8):
        return False
    return not (splits > 1 and splits > max(1, -(-case['cols'] // GRANULE)))


def _best_plan(case, P, rules, tile=None):
    best, best_us = None, math.inf
    for pk in case['order']:  # one token group, splits 1..8 then tiles 1, 2, 4: the first strict minimum
        if tile is not None and pk[2] != tile:
            continue
        if not case['elig'][pk] and not (rules and rules.get('tpw4_any_split') and case['elig4'][pk]):
            continue
        u = plan_us(pk, case['plans'][pk]['t'], P)
        if u < best_us:
            best, best_us = pk, u
    return best, best_us


def model_choice(case, P, rules=None):
    """Replica of choose_plan + choose_launch over the plans the sweep ran.
    Tensor-core path: choose_plan (one token group), then the token-group step: where the best one-group plan has
    5 * ctas < 2 * SMs (and >= 2 n-tiles), the measured grouped launch (groups > 1, the model's own choice in the
    sweep) competes on its model us.  The sweep holds one grouped launch a case at most, so other group counts
    cannot be scored.
    FMA path (m = 1, 2): standard 16-row tiles; the narrow 4-row tiles compete only for BF16 where the standard
    plan has 4 * ctas < SMs.
    rules: optional dict, e.g. {'tpw4_any_split': True} lifts the tensor-core 4-tiles rule."""
    mma = case['plans'][case['order'][0]]['t']['mma']
    if not mma:
        best, best_us = _best_plan(case, P, rules, tile=16)
        if best is None or (case['fmt'] == 'bf16' and 4 * case['plans'][best]['t']['ctas'] < SMS):
            nb, nu = _best_plan(case, P, rules, tile=4)
            if nb is not None and nu < best_us:
                best, best_us = nb, nu
        return best, best_us
    best, best_us = _best_plan(case, P, rules)
    t = case['plans'][best]['t']
    if 5 * t['ctas'] < 2 * SMS and (case['m'] + 7) // 8 >= 2:
        for pk in case['grouped']:
            u = plan_us(pk, case['plans'][pk]['t'], P)
            if u < best_us:
                best, best_us = pk, u
    return best, best_us


def prepare(cases):
    for c in cases.values():
        if c['broken']:
            continue
        c['order'] = sorted((pk for pk in c['plans'] if pk[3] == 1), key=lambda k: (k[0], k[1]))
        c['elig'] = {pk: auto_eligible(c, pk) for pk in c['plans']}
        # eligible but for the tensor-core 4-tiles rule
        c['elig4'] = {pk: pk[1] != 3 and not (pk[0] > 1 and pk[0] > max(1, -(-c['cols'] // GRANULE)))
                      for pk in c['plans']}
        c['grouped'] = [pk for pk in c['plans'] if pk[3] > 1]
        c['best_auto_us'] = min(c['plans'][pk]['us'] for pk in c['plans']
                                if (pk[3] == 1 and c['elig'][pk]) or pk[3] > 1)


# ==========================================================================================================
# 3. Scoring
# ==========================================================================================================
def total(P, cs, rules=None):
    return sum(c['plans'][model_choice(c, P, rules)[0]]['us'] for c in cs)


def score(P, cs, rules=None):
    rows = []
    for c in cs:
        ch, mus = model_choice(c, P, rules)
        mu = c['plans'][ch]['us']
        rows.append({'case': c, 'plan': ch, 'us': mu, 'model_us': mus, 'regret': mu / c['best_us']})
    return rows


def summary(rows, label=''):
    tot = sum(r['us'] for r in rows)
    best = sum(r['case']['best_us'] for r in rows)
    besta = sum(r['case']['best_auto_us'] for r in rows)
    n_off = sum(r['regret'] > 1.02 for r in rows)
    worst = max(r['regret'] for r in rows) if rows else 1
    return '%s%d cases: chosen %.1f us, best %.1f (best auto-eligible %.1f), chosen/best %.4f, >2%% off: %d, worst %.2fx' % (
        label, len(rows), tot, best, besta, tot / best if best else 1, n_off, worst)


def m_band(m):
    if m in (8, 9):
        return 'm 8-9'
    if 16 <= m <= 36:
        return 'm 16-36'
    if 64 <= m <= 72:
        return 'm 64-72'
    return 'm %d (drafter lm_head)' % m if m in (7, 14, 56) else 'm %d' % m


def name(c):
    return '%s %s %s m=%d' % (c['fmt'], c['model'], c['matrix'], c['m'])


# ==========================================================================================================
# 4. Search
# ==========================================================================================================
BOUNDS = OrderedDict(hbm=(1.5e6, 8.0e6), l2=(1.0e6, 1.28e8), dsmem=(5.0e3, 1.0e7), fixed=(0.25, 16.0),
                     dec=(5.0e3, 1.6e5), lat_mma=(0.5, 8.0), lat_fma=(0.5, 8.0), tile_us=(0.01, 8.0),
                     split_us=(0.01, 4.0), per_cta=(1e-4, 0.1), overlap_p=(1.0, 16.0), cslots=(8, 16))
INTEGER = {'cslots'}


def grid(nm, n=41):
    lo, hi = BOUNDS[nm]
    if nm in INTEGER:
        return list(range(int(lo), int(hi) + 1))
    return [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]


def coord_descent(P, names, cs, rules=None, sweeps=8, n=41):
    """Coordinate descent over log grids.  The objective is piecewise constant: for each coordinate take the centre
    of the longest run of grid values reaching the minimum (the most robust point of the plateau)."""
    P = dict(P)
    best = total(P, cs, rules)
    for _ in range(sweeps):
        improved = False
        for nm in names:
            g = grid(nm, n)
            vals = [total(dict(P, **{nm: v}), cs, rules) for v in g]
            m = min(vals)
            runs, run = [], []
            for i, v in enumerate(vals):
                if v <= m + 1e-6:
                    run.append(i)
                elif run:
                    runs.append(run)
                    run = []
            if run:
                runs.append(run)
            r = max(runs, key=len)
            P[nm] = g[r[len(r) // 2]]
            improved |= m < best - 1e-6
            best = m
        if not improved:
            break
    return P, best


def search(names, cs, base=None, rules=None, restarts=12, seed=1, n=41):
    """Multi-start coordinate descent; returns the list of (total, P) sorted, best first."""
    base = dict(base or CUR)
    rng = random.Random(seed)
    starts = [dict(base)]
    for _ in range(restarts):
        s = dict(base)
        for nm in names:
            lo, hi = BOUNDS[nm]
            s[nm] = rng.randint(int(lo), int(hi)) if nm in INTEGER else math.exp(rng.uniform(math.log(lo), math.log(hi)))
        starts.append(s)
    out = [coord_descent(s, names, cs, rules, n=n)[::-1] for s in starts]
    out.sort(key=lambda x: x[0])
    return out


def fmt_P(P, names=None):
    names = names or [k for k in P if k in BOUNDS or k in CUR]
    return ', '.join('%s=%.3g' % (k, P[k]) for k in names if k in P)


def lomo(names, cs, base, restarts=3, n=49, rules=None):
    """Leave one model out: fit `names` on the other models' cases, score the held-out model's cases.
    Returns (in-sample total, in-sample P, held-out total summed over folds, per-fold text)."""
    res = search(names, cs, base=base, restarts=restarts, n=n, rules=rules)
    held, det = 0.0, []
    for mo in sorted(set(c['model'] for c in cs)):
        tr = [c for c in cs if c['model'] != mo]
        te = [c for c in cs if c['model'] == mo]
        P = search(names, tr, base=base, restarts=restarts, n=n, rules=rules)[0][1]
        a = total(P, te, rules)
        held += a
        det.append('%s %+.0f (%s)' % (mo.split('-')[0] + ('-d' if 'drafter' in mo else ''), a - total(CUR, te),
                                      fmt_P(P, names)))
    return res[0][0], res[0][1], held, '; '.join(det)


def per_model(P, cs):
    out = []
    for mo in sorted(set(c['model'] for c in cs)):
        sub = [c for c in cs if c['model'] == mo]
        out.append('%s %.1f' % (mo, total(P, sub)))
    return ', '.join(out)


def band_table(P, cs):
    bands = defaultdict(list)
    for r in score(P, cs):
        bands[m_band(r['case']['m'])].append(r)
    return ['    ' + summary(bands[b], b + ': ') for b in sorted(bands, key=lambda b: int(re.findall(r'\d+', b)[0]))]


def log_error(P, cs):
    """Median and 90th percentile |log(model / measured)| over every plan (absolute accuracy, not the fit target)."""
    e = sorted(abs(math.log(plan_us(pk, p['t'], P) / p['us'])) for c in cs for pk, p in c['plans'].items())
    return e[len(e) // 2], e[int(0.9 * len(e))]


def parse_old_h200(path, cases):
    """The older H200 sweep (MiMo-V2.5-Pro FP8 q_proj / o_proj / lm_head at m = 9, 64, 72) has no terms: its forced
    rows are mapped onto the plans the same forced request ran on the H100 (same shared-memory limits and fallback),
    its chosen row onto the H100 case's plan of the same (splits, tiles)."""
    copy, out = None, OrderedDict()
    for line in open(path):
        if copy is None and 'copy bandwidth' in line:
            copy = float(re.search(r'copy bandwidth (\d+) GB/s', line).group(1))
        if not line.startswith('| linear'):
            continue
        kernel, model, shape, us = [c.strip() for c in line.split('|')[1:5]]
        fmt = kernel.split()[1]
        f = re.match(r'^(\S+) m=(\d+) plan \((\d+), (\d+)\)$', shape)
        ch = re.match(r'^(\S+) \[\d+, \d+\] m=(\d+) \(splits (\d+), tiles/warp (\d+)\)$', shape)
        mm = f or ch
        key = (fmt, model, mm.group(1), int(mm.group(2)))
        want = (int(mm.group(3)), int(mm.group(4)))
        c = cases[key]
        pk = c['forced_map'][want] if f else next(p for p in c['plans'] if p[:2] == want and p[3] == 1)
        o = out.setdefault(key, {'meas': defaultdict(list), 'chosen': None})
        o['meas'][pk].append(float(us))
        if ch:
            o['chosen'] = pk
    old = []
    for key, o in out.items():
        c = dict(cases[key])
        c['plans'] = OrderedDict((pk, dict(cases[key]['plans'][pk], us=sum(v) / len(v))) for pk, v in o['meas'].items())
        c['order'] = [pk for pk in cases[key]['order'] if pk in c['plans']]
        c['best_us'] = min(p['us'] for p in c['plans'].values())
        c['best_auto_us'] = c['best_us']
        c['row_chosen'] = o['chosen']
        old.append(c)
    return copy, old


def plan_str(pk):
    return '(%d, %d, %d)' % pk[:3] + (' x%d groups' % pk[3] if pk[3] > 1 else '')


def main():
    explore = '--explore' in sys.argv
    copy, cases = parse()
    prepare(cases)
    copy_bpus = copy * 1e3  # GB/s -> bytes/us
    good = [c for c in cases.values() if not c['broken']]
    mma = [c for c in good if c['m'] >= 7]
    fma = [c for c in good if c['m'] <= 2]

    # ---- 1. parse
    print('# 1. Parse: %s, copy %.0f GB/s' % (SWEEP.rsplit('/', 1)[-1], copy))
    print('   %d cases (%d tensor-core m>=7 [the fit], %d FMA m=1,2 [reference]); left out: %s' % (
        len(good), len(mma), len(fma), [name(c) for c in cases.values() if c['broken']]))
    print('   plans that ran, deduplicated: %d tensor-core + %d FMA (forced rows that ran another plan: %d); '
          'grouped launches (model\'s own choice, groups > 1): %d' % (
              sum(len(c['plans']) for c in mma), sum(len(c['plans']) for c in fma),
              sum(c['fell_back'] for c in good), sum(len(c['grouped']) for c in mma)))

    # ---- 2. replication
    worst, nbad = 0.0, 0
    for c in good:
        for pk, p in c['plans'].items():
            d = abs(plan_us(pk, p['t'], CUR) - p['t']['model_us'])
            worst, nbad = max(worst, d), nbad + (d > 0.006)
    mism = [c for c in mma if model_choice(c, CUR)[0] != c['chosen']]
    fmism = [c for c in fma if model_choice(c, CUR)[0][:2] != c['clusters'][0]]
    print('# 2. Replica: max |model_us - printed| %.4f us (%d plans beyond rounding); choice != the model\'s row: '
          '%d of %d tensor-core cases, %d of %d FMA cases (vs the "(clusters)" rows)' % (
              worst, nbad, len(mism), len(mma), len(fmism), len(fma)))
    for c in mism + fmism:
        print('   mismatch', name(c))

    # ---- 3. current quality
    print('# 3. Current constants (%s)' % fmt_P(CUR))
    print('   ' + summary(score(CUR, mma)))
    print('\n'.join(band_table(CUR, mma)))
    print('   per model:', per_model(CUR, mma))
    print('   worst cases (us lost):')
    for r in sorted(score(CUR, mma), key=lambda r: r['case']['best_us'] - r['us'])[:12]:
        print('    %-42s chose %-14s %6.1f us, best %-14s %6.1f (%.2fx)' % (
            name(r['case']), plan_str(r['plan']), r['us'], plan_str(r['case']['best_plan']), r['case']['best_us'],
            r['regret']))

    # ---- 4. search
    F = 0.95  # kHbmBytesPerUs / copy bandwidth: the H200 fit (4.0e6 / 4.214e6 = 0.949)
    H = dict(CUR, hbm=F * copy_bpus)
    NEW = dict(H, overlap_p=4.0)
    print('# 4. Search (objective: total measured us of the chosen plans, %d tensor-core cases)' % len(mma))
    B5 = ['hbm', 'l2', 'dsmem', 'fixed', 'dec']
    if explore:
        print('   free multi-parameter fits (12 restarts; LOMO refits on three models, scores the fourth):')
        for label, names, extra in [
                ('5 constants, C++ form', B5, {}),
                ('+ reduction per wave', B5, {'red_wave': 1}),
                ('+ reduction per wave x (S-1)', B5, {'red_wave': 1, 'red_split': 1}),
                ('+ fixed us per tile a warp', B5 + ['tile_us'], {'tile_us': 0.5}),
                ('+ fixed us per split rank', B5 + ['split_us'], {'split_us': 0.2}),
                ('+ us per CTA', B5 + ['per_cta'], {'per_cta': 1e-3}),
                ('+ 8-CTA cluster slots', B5 + ['cslots'], {'cslots': 15}),
                ('+ p-norm overlap', B5 + ['overlap_p'], {'overlap_p': 4.0})]:
            ins, P, held, det = lomo(names, mma, dict(CUR, **extra), restarts=8, n=41)
            print('    %-30s in-sample %.1f, LOMO held-out %.1f | %s' % (label, ins, held, fmt_P(P, names)))
            print('        folds (held-out change vs current): ' + det)
    print('   one or two parameters (LOMO held-out total; current constants: %.1f):' % total(CUR, mma))
    for label, names, base in [
            ('kHbm alone', ['hbm'], CUR),
            ('kL2 alone', ['l2'], CUR),
            ('latency alone', ['lat_mma'], CUR),
            ('kFixed alone', ['fixed'], CUR),
            ('kDecode alone', ['dec'], CUR),
            ('kDsmem alone', ['dsmem'], CUR),
            ('p alone, kHbm = 0.95 copy', ['overlap_p'], dict(H, overlap_p=4.0)),
            ('kHbm + p', ['hbm', 'overlap_p'], dict(H, overlap_p=4.0)),
            ('p + kFixed, kHbm = 0.95 copy', ['overlap_p', 'fixed'], dict(H, overlap_p=4.0)),
            ('p + kDsmem, kHbm = 0.95 copy', ['overlap_p', 'dsmem'], dict(H, overlap_p=4.0)),
            ('p + kL2, kHbm = 0.95 copy', ['overlap_p', 'l2'], dict(H, overlap_p=4.0))]:
        ins, P, held, det = lomo(names, mma, base)
        print('    %-30s in-sample %.1f (%s), LOMO %.1f | %s' % (label, ins, fmt_P(P, names), held, det))
    print('   fixed choices (no fit): kHbm = 0.95 copy: %.1f; + p = 4: %.1f; + p = 4, tpw 4 at any split: %.1f; '
          '+ p = 4, fractional waves: %.1f' % (total(H, mma), total(NEW, mma), total(NEW, mma, {'tpw4_any_split': 1}),
                                               total(dict(NEW, frac_waves=1), mma)))

    # ---- 5. the proposal
    print('# 5. Proposal: kHbmBytesPerUs = %.2f x copy (%.3g on this H100; 4.0e6 on the H200), '
          'us = (t_hbm^4 + wave^4)^(1/4) + t_x + t_red; other constants unchanged' % (F, F * copy_bpus))
    for lab, P in [('current', CUR), ('kHbm only', H), ('proposal', NEW)]:
        med, p90 = log_error(P, mma)
        print('   %-10s %s | |log err| median %.3f p90 %.3f' % (lab, summary(score(P, mma)), med, p90))
    print('\n'.join(band_table(NEW, mma)))
    print('   per model:', per_model(NEW, mma))
    print('   cases whose plan changes (current -> proposal):')
    a, b = score(CUR, mma), score(NEW, mma)
    for x, y in zip(a, b):
        if x['plan'] != y['plan']:
            c = x['case']
            print('    %-42s %-14s %6.1f -> %-14s %6.1f us (%+5.1f)%s best %s %.1f' % (
                name(c), plan_str(x['plan']), x['us'], plan_str(y['plan']), y['us'], y['us'] - x['us'],
                '  SLOWER' if y['us'] > x['us'] else '', plan_str(c['best_plan']), c['best_us']))

    # ---- 6. sensitivity to kHbmBytesPerUs
    print('# 6. Sensitivity to kHbm (f = kHbm / copy): total chosen us [plans changed vs the proposal]')
    base_plans = [model_choice(c, NEW)[0] for c in mma]
    for p in (4.0, None):
        row = []
        for f in (0.7, 0.8, 0.85, 0.88, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5):
            P = dict(CUR, hbm=f * copy_bpus, overlap_p=p) if p else dict(CUR, hbm=f * copy_bpus)
            ch = sum(model_choice(c, P)[0] != q for c, q in zip(mma, base_plans))
            row.append('%.2f: %.0f [%d]' % (f, total(P, mma), ch))
        print('   %s: %s' % ('p = 4' if p else 'max  ', ', '.join(row)))
    row = []
    for p in (2, 3, 3.5, 4, 4.5, 5, 6, 8, 16):
        row.append('%g: %.0f' % (p, total(dict(H, overlap_p=p), mma)))
    print('   p at f = 0.95: ' + ', '.join(row) + ', max: %.0f' % total(H, mma))

    # ---- 7. FMA path and the older H200 sweep
    print('# 7. FMA path (m = 1, 2; the row stream runs these in production: %.1f us in all)' % sum(
        c['row_stream_us'] for c in fma))
    for lab, P in [('current', CUR), ('proposal', NEW)]:
        print('   %-9s %s' % (lab, summary(score(P, fma))))
    print('   latency_fma (proposal): ' + ', '.join('%g: %.0f' % (l, total(dict(NEW, lat_fma=l), fma))
                                                    for l in (1.5, 2, 2.5, 3, 4)))
    c2, old = parse_old_h200(HERE + '/../../../2026-11-24/session48/s48f/sweep-MiMo-V2.5-Pro.txt', cases)
    for lab, P in [('current', CUR), ('proposal', dict(NEW, hbm=F * c2 * 1e3))]:
        ch = [model_choice(c, P)[0] for c in old]
        print('   older H200 sweep (%d MiMo FP8 cases, copy %.0f GB/s), %-9s chosen %.1f us, best %.1f; '
              'replica = its rows: %s' % (len(old), c2, lab, sum(c['plans'][q]['us'] for c, q in zip(old, ch)),
                                          sum(c['best_us'] for c in old),
                                          all(q == c['row_chosen'] for c, q in zip(old, ch)) if lab == 'current' else '-'))


if __name__ == '__main__':
    main()
