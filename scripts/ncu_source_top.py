#!/usr/bin/env python3
"""The SASS instructions where a kernel's warps wait, from Nsight Compute's
source page: reads the CSV of
    ncu -i REPORT.ncu-rep --page source --print-source sass --csv
and prints the instructions with the most warp-stall samples (their share,
address, text), then the samples per opcode. Used by scripts/gpu_profile.sh
with PROFILE_SOURCE=1.
    scripts/ncu_source_top.py SOURCE.csv [--top N]
The column names differ between ncu versions: the stall column is the first
whose name contains "Warp Stall Sampling (All", the text column "Source";
when either is missing the header found is printed instead."""

import argparse
import collections
import csv
import sys


def number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def rows_of(path: str):
    """The CSV's rows as dicts (ncu may print lines before the header: the
    header is the first line with a "Source" column)."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if '"Source"' in line or line.startswith("Source,") or ",Source," in line:
            return list(csv.DictReader(lines[i:]))
    return []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args(argv)
    rows = rows_of(args.csv)
    if not rows:
        print(f"{args.csv}: no source table (no 'Source' column)")
        return 1
    header = list(rows[0].keys())
    stall = next((c for c in header if "Warp Stall Sampling (All" in c), None)
    address = next((c for c in header if c.strip().lower() == "address"), None)
    if stall is None:
        print(f"{args.csv}: no warp-stall column; columns: {header}")
        return 1
    total = sum(number(r[stall]) for r in rows) or 1.0
    ranked = sorted(rows, key=lambda r: number(r[stall]), reverse=True)
    print(f"{len(rows)} instructions, {total:.0f} stall samples; top {args.top}:")
    for r in ranked[: args.top]:
        where = r.get(address, "") if address else ""
        print(f"{100 * number(r[stall]) / total:6.2f}%  {where:>8}  {r['Source'].strip()}")
    per_op = collections.Counter()
    for r in rows:
        text = r["Source"].strip()
        words = [w for w in text.split() if not w.startswith("@")]
        per_op[words[0].rstrip(";") if words else "?"] += number(r[stall])
    print("samples per opcode:")
    for op, n in per_op.most_common(15):
        print(f"{100 * n / total:6.2f}%  {op}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
