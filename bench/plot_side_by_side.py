#!/usr/bin/env python3
"""PNG of the prefill comparison that bench/side_by_side.py prints: TFLOPS
vs sequence length, one panel per (head dim, mask), one line per fa3jit
path and per SDPA backend (FA2, cuDNN). Needs matplotlib.

    python3 bench/plot_side_by_side.py --sdpa sdpa.json --out prefill.png sm80=sm80.json sm90=sm90.json
"""
import argparse
import json

from side_by_side import key


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sdpa", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="bf16 attention forward")
    ap.add_argument("runs", nargs="+", help="LABEL=fa3jit-bench.json")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sdpa = json.load(open(args.sdpa))
    series = {"FA2 (SDPA)": {}, "cuDNN (SDPA)": {}}
    for r in sdpa["results"]:
        series["FA2 (SDPA)"][key(r)] = r.get("sdpa_flash_tflops")
        series["cuDNN (SDPA)"][key(r)] = r.get("cudnn_tflops")
    for spec in args.runs:
        label, path = spec.split("=", 1)
        series["fa3jit " + label] = {key(r): r["tflops"] for r in json.load(open(path))["results"]
                                     if r.get("ok") and r.get("page_size", 0) == 0}
    panels = sorted({(k[5], k[7]) for k in series["cuDNN (SDPA)"]})
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), sharey=True)
    for ax, (d, causal) in zip(axes, panels):
        for name, values in series.items():
            pts = sorted((k[1], v) for k, v in values.items() if k[5] == d and k[7] == causal and v)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_title(f"d={d} {'causal' if causal else 'non-causal'}", fontsize=9)
        ax.set_xlabel("sequence length")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("TFLOPS")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{args.title} — {sdpa.get('device_name', '')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
