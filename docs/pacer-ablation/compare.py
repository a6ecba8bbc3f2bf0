#!/usr/bin/env python3
"""Each mechanism's cost per cell: for every `assign_many` cell of the fleet matrix, a variant's
x ideal and 429 share against the spread of the baseline runs of the same session (base*.txt).
A cell counts as worse when it is slower by more than 0.015x than the slowest baseline, or its
429 share is more than 1 point above the highest, or it failed, lost or duplicated an item.

Usage: compare.py DIR (the output directory of run.sh)."""
import re, sys, glob, os
def parse(path):
    rows, verdicts, met = {}, {}, None
    for line in open(path):
        m = re.match(r'\| (scaled 10x|real) \| (.+?) \| (.+?) \| (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) % \| (\d+) \| (\d+) \| (\d+) \|', line)
        if m and m.group(4) == 'assign_many':
            key = (m.group(1), m.group(2), m.group(3))
            rows[key] = dict(x=float(m.group(7)), share=float(m.group(8)), bad=int(m.group(9))+int(m.group(10))+int(m.group(11)))
        m = re.match(r'(\d+) of (\d+) assign_many cells meet', line)
        if m: met = int(m.group(1))
        m = re.match(r'  (.+?/ assign_many)\s+(meets|misses: .*)', line)
        if m: verdicts[m.group(1).strip()] = m.group(2)
    return rows, met, verdicts
d = [a for a in sys.argv[1:] if not a.startswith("--")][0]
bases = [parse(p) for p in sorted(glob.glob(f'{d}/base*.txt'))]
keys = list(bases[0][0].keys())
def base(k, f): return [b[0][k][f] for b in bases if k in b[0]]
print('baselines meet:', [b[1] for b in bases])
for p in ([] if "--table" in sys.argv else sorted(glob.glob(f"{d}/*.txt"))):
    name = os.path.basename(p)[:-4]
    if name.startswith('base'): continue
    rows, met, _ = parse(p)
    if not rows: print(f'{name}: no table'); continue
    worse = []
    for k in keys:
        if k not in rows: continue
        bx, bs = base(k,'x'), base(k,'share')
        r = rows[k]
        dx = r['x'] - max(bx); ds = r['share'] - max(bs)
        if dx > 0.015 or ds > 1.0 or r['bad'] > 0:
            worse.append(f"{k[0].replace('scaled 10x','scaled')}/{k[1]}/{k[2]}: {min(bx):.2f}-{max(bx):.2f}x -> {r['x']:.2f}x, 429 {max(bs):.1f}% -> {r['share']:.1f}%" + (f", {r['bad']} failed/lost/dup" if r['bad'] else ''))
    better = sum(1 for k in keys if k in rows and rows[k]['x'] < min(base(k,'x')) - 0.015 and rows[k]['share'] <= max(base(k,'share')) + 1.0)
    print(f'\n## {name}: {met} cells meet (baselines {[b[1] for b in bases]}); {len(worse)} cells worse, {better} faster at no 429 cost')
    for w in worse: print('  -', w)

if '--table' in sys.argv:
    # One row per assign_many cell, one column per run: "x ideal / 429 share", worse cells in bold.
    runs = [os.path.basename(p)[:-4] for p in sorted(glob.glob(f'{d}/*.txt'))]
    variants = [r for r in runs if not r.startswith('base')]
    parsed = {r: parse(f'{d}/{r}.txt') for r in runs}
    print('\n| cell | baselines | ' + ' | '.join(variants) + ' |')
    print('|---|---|' + '---|' * len(variants))
    for k in keys:
        bx, bs = base(k, 'x'), base(k, 'share')
        cells = []
        for v in variants:
            r = parsed[v][0].get(k)
            if r is None:
                cells.append('')
                continue
            worse = r['x'] - max(bx) > 0.015 or r['share'] - max(bs) > 1.0 or r['bad'] > 0
            text = f"{r['x']:.2f} / {r['share']:.0f}" + (f" / {r['bad']} bad" if r['bad'] else '')
            cells.append(f'**{text}**' if worse else text)
        name = f"{k[0].replace('scaled 10x', 'scaled')} / {k[1]} / {k[2]}"
        print(f"| {name} | {min(bx):.2f}–{max(bx):.2f} / {min(bs):.0f}–{max(bs):.0f} | " + ' | '.join(cells) + ' |')
