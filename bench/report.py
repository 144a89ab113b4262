"""The suite's outputs, written to one folder: results.json (every (shape,
peer) row with its status and reason, and the machine and versions),
results.md (one table per family: TFLOPS or GB/s per peer, then why the
empty cells are empty; under varlen, fa3jit's mixed-length TFLOPS over the
same tokens as equal lengths), and PNG plots (TFLOPS vs length per d and
mask for prefill, GB/s vs KV length for decode, speculative decode and MLA,
bars for varlen and diffusion).

Also a command (no torch needed) that rewrites the report from runs'
results.json, joining runs split by --families (one per device call):

    python3 bench/report.py --out DIR A/results.json [B/results.json ...]"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import sys

from shapes import FAMILIES, VARLEN_TARGET_RATIO, Shape, equal_length_companion

STATUS_MARK = {"unsupported": "n/s", "unavailable": "n/a", "error": "err", "wrong": "WRONG",
               "skipped": "skip"}
UNITS = {"tflops": "TFLOPS", "gbps": "GB/s"}


def write_json(path: str, meta: dict, rows: list) -> None:
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": rows}, f, indent=1)


def _value(row):
    return row.get(row["metric"]) if row["status"] == "ok" else None


def _cell(row) -> str:
    if row is None:
        return ""
    v = _value(row)
    if v is not None:
        return f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    return STATUS_MARK.get(row["status"], row["status"])


def _family_table(family: str, rows: list, peers: list, extra=()) -> list:
    """The family's table, its geometric-mean line, then `extra` lines, then
    why the empty cells are empty."""
    by_shape = collections.OrderedDict()
    for r in rows:
        by_shape.setdefault(r["label"], {})[r["peer"]] = r
    metric = rows[0]["metric"]
    others = [p for p in peers if p != "fa3jit"]
    head = ["shape"] + peers + (["fa3jit / best other"] if "fa3jit" in peers and others else [])
    lines = [f"### {family} ({UNITS[metric]})", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    ratios = []
    for label, cells in by_shape.items():
        line = [label] + [_cell(cells.get(p)) for p in peers]
        if len(head) > len(peers) + 1:
            mine = _value(cells["fa3jit"]) if "fa3jit" in cells else None
            theirs = [_value(cells[p]) for p in others if p in cells]
            best = max((v for v in theirs if v), default=None)
            if mine and best:
                ratios.append(mine / best)
            line.append(f"{mine / best:.2f}" if mine and best else "")
        lines.append("| " + " | ".join(line) + " |")
    if ratios:
        geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        lines += ["", f"fa3jit / best other peer: geometric mean {geomean:.2f} over "
                      f"{len(ratios)} shape{'s' if len(ratios) > 1 else ''} "
                      f"(min {min(ratios):.2f}, max {max(ratios):.2f})."]
    lines += list(extra)
    why = collections.Counter((r["peer"], r["status"], r.get("reason", "")) for r in rows
                              if r["status"] != "ok")
    if why:
        lines += ["", "Not measured:"]
        for (peer, status, reason), n in sorted(why.items()):
            lines.append(f"- {peer}, {status} ({n} shape{'s' if n > 1 else ''}): {reason}")
    return lines + [""]


def _varlen_vs_equal(rows: list) -> list:
    """fa3jit's TFLOPS on each mixed-length batch over its TFLOPS on the
    batch's equal-length companion (same sequence count and tokens), the
    ratio issue 5 sets a target for; from the rows alone."""
    mine = {r["label"]: r for r in rows if r["peer"] == "fa3jit"}
    lines = []
    for label, row in mine.items():
        shape = Shape.from_dict(row)
        twin = None if shape.equal_lengths else mine.get(equal_length_companion(shape).label())
        if twin is None:
            continue
        mix, equal = _value(row), _value(twin)
        if mix and equal:
            ratio = mix / equal
            verdict = f"{ratio:.2f} ({'meets' if ratio >= VARLEN_TARGET_RATIO else 'below'})"
        else:
            verdict = "not measured"
        lines.append(f"| {label} | {twin['label']} | {_cell(row)} | {_cell(twin)} | {verdict} |")
    if not lines:
        return []
    return ["", f"fa3jit, mixed lengths / the same tokens as equal-length sequences (TFLOPS; "
                f"issue 5 target: >= {VARLEN_TARGET_RATIO:.2f}):", "",
            "| mixed lengths | equal lengths | mixed | equal | mixed / equal |",
            "|---|---|---:|---:|---:|"] + lines


def _machine_table(meta: dict) -> list:
    """The run's machine and versions, as docs/BENCHMARKS.md lists them."""
    def get(*keys):
        return " / ".join(str(meta[k]) for k in keys if meta.get(k) not in (None, "")) or "?"
    lines = ["| | |", "|---|---|",
             f"| GPU | {get('device_name')} ({get('sm_count')} SMs, {get('memory_gib')} GiB, "
             f"L2 {get('l2_mib')} MiB) |" if meta.get("sm_count") else
             f"| device | {get('device_name')} |",
             f"| driver | {get('driver')} |",
             f"| CUDA (torch build) / cuDNN | {get('torch_cuda', 'cudnn')} |",
             f"| torch / Python | {get('torch', 'python')} |"]
    for name, p in meta.get("peers", {}).items():
        what = p.get("version") if p.get("available") else f"not run: {p.get('reason', '?')}"
        if name == "fa3jit" and meta.get("fa3jit_commit"):
            what += f" (commit {meta['fa3jit_commit']})"
        lines.append(f"| {name} | {what} |")
    lines += [f"| command | `{get('command')}` |",
              f"| date | {get('started_utc')} ({get('elapsed_s')} s) |", ""]
    return lines


def markdown(meta: dict, rows: list, peers: list) -> str:
    lines = [f"## fa3jit benchmark: {meta.get('device_name', '?')}", ""]
    lines += _machine_table(meta)
    lines += ["Cells: median per call (TFLOPS over the visible (query, key) pairs, or GB/s of "
             "K, V, q and out moved once); n/s = the peer does not take the shape, n/a = the "
             "peer is not installed, err = it raised, WRONG = it failed the reference check, "
             "skip = over the time budget or GPU memory.", ""]
    for fam in FAMILIES:
        fam_rows = [r for r in rows if r["family"] == fam]
        if fam_rows:
            extra = _varlen_vs_equal(fam_rows) if fam == "varlen" else []
            lines += _family_table(fam, fam_rows, peers, extra)
    return "\n".join(lines)


# ---- plots -------------------------------------------------------------------

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _layout(row) -> str:
    return f"page {row['page_size']}" if row["page_size"] else "dense"


def _short(n) -> str:
    """16384 -> "16k", 75600 -> "75.6k"."""
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}k"
    return f"{n / 1000:.3g}k" if n >= 1000 else str(n)


def _solid(series_name: str) -> bool:
    """fa3jit's lines solid, the peers' dashed."""
    return series_name.startswith("fa3jit")


def _natural(text):
    """Sort key that puts "d 64" before "d 128"."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _line_panels(path, title, rows, panel_of, x_of, series_of, ylabel, xlabel, logx=True):
    panels = sorted({panel_of(r) for r in rows}, key=_natural)
    if not panels:
        return None
    plt = _plt()
    # One colour per series across every panel.
    names = sorted({series_of(r) for r in rows if _value(r) is not None}, key=_natural)
    colour = {n: f"C{i % 10}" for i, n in enumerate(names)}
    cols = min(3, len(panels))
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        series = collections.defaultdict(list)
        for r in rows:
            if panel_of(r) == panel and _value(r) is not None:
                series[series_of(r)].append((x_of(r), _value(r)))
        for name in sorted(series, key=_natural):
            pts = sorted(series[name])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name,
                    color=colour[name], linestyle="-" if _solid(name) else "--")
        xs = sorted({x for pts in series.values() for x, _ in pts})
        if logx:
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [_short(x) for x in xs])
            ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_title(str(panel), fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bars(path, title, rows, ylabel):
    labels = list(collections.OrderedDict.fromkeys(r["label"] for r in rows))
    peers = list(collections.OrderedDict.fromkeys(r["peer"] for r in rows if _value(r) is not None))
    if not labels or not peers:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(labels)), 4))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        vals = {r["label"]: _value(r) for r in rows if r["peer"] == peer}
        ax.bar([j + i * width for j in range(len(labels))], [vals.get(lb) or 0 for lb in labels],
               width, label=peer)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plots(folder: str, rows: list) -> list:
    """PNG files written (matplotlib missing raises ImportError)."""
    made = []
    fam = lambda f: [r for r in rows if r["family"] == f]  # noqa: E731
    for dtype in ("bf16", "fp8"):
        pre = [r for r in fam("prefill") if r["dtype"] == dtype]
        made.append(_line_panels(
            os.path.join(folder, f"prefill_{dtype}.png"),
            f"prefill {dtype}: 16k tokens, h*d = 2048",
            pre, lambda r: f"d {r['d']}, {'causal' if r['causal'] else 'non-causal'}",
            lambda r: r["seqlens_q"][0], lambda r: r["peer"], "TFLOPS", "sequence length"))
    # One PNG per head configuration (and query count, for speculative decode).
    for family in ("decode", "specdecode"):
        key = lambda r: (r["seqlens_q"][0], r["heads"], r["kv_heads"])  # noqa: E731
        for nq, h, hk in sorted({key(r) for r in fam(family)}):
            dec = [r for r in fam(family) if key(r) == (nq, h, hk)]
            spec = family == "specdecode"
            made.append(_line_panels(
                os.path.join(folder, f"{family}_{f'q{nq}_' if spec else ''}h{h}_kv{hk}.png"),
                (f"speculative decode, {nq} causal queries, {h}/{hk} heads, d 128" if spec
                 else f"decode, {h} q-heads / {hk} kv-heads, d 128"),
                dec, lambda r: f"batch {r['batch']}", lambda r: r["seqlens_k"][0],
                lambda r: f"{r['peer']} {_layout(r)}",
                "GB/s", "KV length"))
    made.append(_line_panels(
        os.path.join(folder, "mla_decode.png"), "MLA decode (qv), d 64 + dv 512",
        fam("mla"), lambda r: f"{r['heads']} heads, {_layout(r)}", lambda r: r["seqlens_k"][0],
        lambda r: f"{r['peer']} b{r['batch']}", "GB/s", "KV length"))
    made.append(_bars(os.path.join(folder, "varlen.png"), "mixed-length prefill", fam("varlen"),
                      "TFLOPS"))
    made.append(_bars(os.path.join(folder, "diffusion.png"), "diffusion (non-causal, d 128)",
                      fam("diffusion"), "TFLOPS"))
    return [m for m in made if m]


def write_all(folder: str, meta: dict, rows: list, peer_names: list) -> None:
    """results.json, results.md and the PNGs in folder; the table printed last."""
    os.makedirs(folder, exist_ok=True)
    try:
        meta["plots"] = [os.path.basename(p) for p in plots(folder, rows)]
    except ImportError as e:
        meta["plots"] = []
        meta["plots_reason"] = f"no PNG plots: matplotlib is not importable ({e})"
        print(f"report: {meta['plots_reason']}", file=sys.stderr)
    write_json(os.path.join(folder, "results.json"), meta, rows)
    table = markdown(meta, rows, peer_names)
    with open(os.path.join(folder, "results.md"), "w") as f:
        f.write(table + "\n")
    print(f"\nwrote {folder}/results.json, results.md, {len(meta['plots'])} PNGs "
          f"({meta.get('elapsed_s', '?')} s)\n")
    print(table, flush=True)


def merge(paths: list) -> tuple:
    """(meta, rows) of several runs: rows concatenated, the first run's
    machine description, every run's command and elapsed time."""
    metas, rows = [], []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        metas.append(data["meta"])
        rows += data["results"]
    meta = dict(metas[0])
    meta["command"] = " ; ".join(m.get("command", "") for m in metas)
    meta["elapsed_s"] = round(sum(m.get("elapsed_s", 0) for m in metas), 1)
    meta["merged_from"] = [os.path.abspath(p) for p in paths]
    return meta, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Rewrite the benchmark report (tables, PNGs) "
                                             "from one or more runs' results.json.")
    ap.add_argument("--out", required=True, help="folder for results.json, results.md, PNGs")
    ap.add_argument("results", nargs="+", help="results.json files of bench/suite.py runs")
    args = ap.parse_args(argv)
    meta, rows = merge(args.results)
    peers = list(dict.fromkeys(r["peer"] for r in rows))
    write_all(args.out, meta, rows, peers)
    return 0 if any(r["status"] == "ok" for r in rows) else 2


if __name__ == "__main__":
    sys.exit(main())
