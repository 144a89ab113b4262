#!/usr/bin/env python3
"""One table from several `fa3jit bench --json` runs (e.g. the sm80 and sm90
paths) and the SDPA timings of `bench/sdpa_compare.py --json` on the same
shapes: TFLOPS per shape, and each fa3jit path over FA2 and cuDNN.

    python3 bench/side_by_side.py --sdpa sdpa.json sm80=sm80.json sm90=sm90.json
"""
import argparse
import json


def key(r):
    return (r["batch"], r["seqlen_q"], r["seqlen_k"], r["heads"], r["kv_heads"], r["d"], r["dv"], bool(r["causal"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sdpa", required=True, help="sdpa_compare.py --json output")
    ap.add_argument("runs", nargs="+", help="LABEL=fa3jit-bench.json")
    args = ap.parse_args()
    sdpa = {key(r): r for r in json.load(open(args.sdpa))["results"]}
    paths = []
    for spec in args.runs:
        label, path = spec.split("=", 1)
        rows = {}
        for r in json.load(open(path))["results"]:
            if r.get("ok") and r.get("page_size", 0) == 0:
                rows[key(r)] = r["tflops"]
        paths.append((label, rows))

    def f(x):
        return f"{x:7.1f}" if x else "      -"

    def ratio(a, b):
        return f"{a / b:6.2f}" if a and b else "     -"

    head = f"{'b':>3} {'seqlen':>6} {'h':>3} {'d':>4} {'causal':>6} |"
    for label, _ in paths:
        head += f" {label:>7}"
    head += f" {'FA2':>7} {'cuDNN':>7} |"
    for label, _ in paths:
        head += f" {label + '/FA2':>10} {label + '/cuDNN':>12}"
    print("bf16 forward TFLOPS (visible pairs only)")
    print(head)
    for k in sorted(sdpa, key=lambda k: (k[5], k[7], k[1])):
        s = sdpa[k]
        fa2, cu = s.get("sdpa_flash_tflops"), s.get("cudnn_tflops")
        line = f"{k[0]:>3} {k[1]:>6} {k[3]:>3} {k[5]:>4} {str(k[7]):>6} |"
        for _, rows in paths:
            line += f" {f(rows.get(k))}"
        line += f" {f(fa2)} {f(cu)} |"
        for _, rows in paths:
            line += f" {ratio(rows.get(k), fa2):>10} {ratio(rows.get(k), cu):>12}"
        print(line)


if __name__ == "__main__":
    main()
