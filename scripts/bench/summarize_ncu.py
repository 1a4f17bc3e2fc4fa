#!/usr/bin/env python3
"""Groups an Nsight Compute CSV (metric gpu__time_duration.sum) by kernel name: a markdown table of
launches, total and mean microseconds and share of the sum, largest first. Used by profile_step.sh."""
import csv
import io
import sys
from collections import defaultdict


def short_name(name: str) -> str:
    # Template arguments and parameter lists make names unreadable; the function name says enough.
    base = name.replace("(anonymous namespace)", "").replace("unnamed>", "")
    base = base.split("(")[0]
    depth, out = 0, []
    for ch in base:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out).split("::")[-1] or name


def main(path: str) -> None:
    text = open(path, encoding="utf-8", errors="replace").read()
    start = text.find('"ID"')
    if start < 0:
        sys.exit(f"{path}: no ncu CSV header found (did ncu profile anything?)")
    total = defaultdict(float)
    count = defaultdict(int)
    for row in csv.DictReader(io.StringIO(text[start:])):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        name = short_name(row["Kernel Name"])
        ns = float(row["Metric Value"].replace(",", ""))
        total[name] += ns / 1000.0
        count[name] += 1
    grand = sum(total.values())
    print(f"{sum(count.values())} kernels, {grand:.1f} us in all (each timed alone)\n")
    print("| kernel | launches | total us | mean us | share |")
    print("|---|---|---|---|---|")
    for name in sorted(total, key=total.get, reverse=True):
        print(f"| {name} | {count[name]} | {total[name]:.1f} | {total[name] / count[name]:.2f} | {100 * total[name] / grand:.1f}% |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
