#!/usr/bin/env python3
"""fa3jit against its peers on the same inputs, in one run: prefill, mixed
varlen, paged decode, speculative decode, diffusion and MLA decode shapes; every result checked
against a float32 reference before it is timed; writes results.json,
results.md and PNG plots to --out and prints the table last.

    python3 bench/suite.py --out bench-out --quick              # < 3 min on an H100
    python3 bench/suite.py --out bench-out --budget-seconds 540 # the full grid, capped
    python3 bench/suite.py --out /tmp/smoke --device cpu        # small shapes on the CPU

Needs torch and the fa3jit Python package (PYTHONPATH to the built package).
A peer that is not installed, or does not take a shape, or raises, gets a
row saying why; the exit status is 1 if fa3jit gave a wrong result, 2 if
fa3jit (or, without it, every peer) measured nothing."""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
except ImportError as _e:  # every peer runs through torch tensors
    print(f"suite: needs torch ({_e}); bench/report.py alone rewrites reports without it",
          file=sys.stderr)
    sys.exit(2)

import peers as peers_mod  # noqa: E402
import problem as problem_mod  # noqa: E402
import reference  # noqa: E402
import report  # noqa: E402
import shapes as shapes_mod  # noqa: E402
import timing  # noqa: E402

# Added to each family's shape count when the budget is shared out: a small
# family still gets time for its first calls' JIT compiles.
FAMILY_WEIGHT_FLOOR = 4
DEFAULT_PEERS = ("fa3jit", "sdpa_cudnn", "sdpa_flash", "sdpa_efficient", "fa4", "flashinfer")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for results.json, results.md and the PNGs")
    ap.add_argument("--quick", action="store_true",
                    help="a subsample of every grid (< 3 min on an H100)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (small smoke shapes)")
    ap.add_argument("--budget-seconds", type=float, default=None,
                    help="stop starting new measurements after this many seconds "
                         "(default: 150 with --quick, leaving the rest of 3 minutes to "
                         "start-up, the last measurement and the plots; 540 otherwise)")
    ap.add_argument("--families", default=",".join(shapes_mod.FAMILIES),
                    help=f"comma-separated subset of {','.join(shapes_mod.FAMILIES)}")
    ap.add_argument("--peers", default=",".join(DEFAULT_PEERS),
                    help=f"comma-separated subset of {','.join(peers_mod.ALL)}")
    ap.add_argument("--target-seconds", type=float, default=None,
                    help="timed seconds per (shape, peer) before the run-count caps "
                         "(default 0.3 with --quick, 1.0 otherwise)")
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--max-runs", type=int, default=100)
    ap.add_argument("--no-graphs", action="store_true", help="time eagerly, without CUDA graphs")
    ap.add_argument("--memory-fraction", type=float, default=0.45,
                    help="skip shapes whose inputs take more than this share of GPU memory")
    ap.add_argument("--partial-json", default=None,
                    help="also rewrite this JSON file as rows come in (at most every 10 s), so a "
                         "run that is killed still leaves its results")
    ap.add_argument("--match", default=None,
                    help="only the shapes whose label matches this regular expression "
                         "(re.search), e.g. 'sk1024 h32/8 .* dense'")
    ap.add_argument("--list", action="store_true", help="print the shapes and exit")
    args = ap.parse_args(argv)
    if args.budget_seconds is None:
        args.budget_seconds = 150.0 if args.quick else 540.0
    if args.target_seconds is None:
        args.target_seconds = 0.3 if args.quick else 1.0
    if args.budget_seconds <= 0:
        ap.error(f"--budget-seconds must be > 0; got {args.budget_seconds}")
    return args


def _nvidia_smi(field: str) -> str:
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        text = out.stdout.strip() if out.returncode == 0 else ""
        return text.splitlines()[0] if text else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _git_commit() -> str:
    # "-dirty" when the tree differs from HEAD (a GPU machine's copy of a
    # working tree may carry an older .git)
    try:
        out = subprocess.run(["git", "-C", REPO_ROOT, "describe", "--always", "--dirty", "--abbrev=7"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(device: str, peer_list, argv) -> dict:
    script = os.path.relpath(os.path.abspath(__file__), REPO_ROOT)
    meta = {"command": " ".join(shlex.quote(a) for a in ["python3", script] + list(argv)),
            "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "python": platform.python_version(), "torch": torch.__version__,
            "torch_cuda": torch.version.cuda, "device": device}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        meta.update(device_name=props.name, sm_count=props.multi_processor_count,
                    memory_gib=round(props.total_memory / 2**30, 1),
                    l2_mib=round(timing.l2_bytes(device) / 2**20, 1),
                    capability=f"{props.major}.{props.minor}",
                    driver=_nvidia_smi("driver_version"),
                    cudnn=str(torch.backends.cudnn.version()))
    else:
        meta.update(device_name=f"CPU ({platform.processor() or platform.machine()}, "
                                f"{os.cpu_count()} threads)")
    meta["fa3jit_commit"] = _git_commit()
    meta["peers"] = {}
    for p in peer_list:
        entry = {"available": p.why_not is None}
        if p.why_not:
            entry["reason"] = p.why_not
        else:
            try:
                entry["version"] = p.version()
            except Exception as e:  # noqa: BLE001  (a version is only informative)
                entry["version"] = f"unknown ({e})"
        meta["peers"][p.name] = entry
    return meta


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:240]


def _status_of(e: BaseException) -> str:
    """Not supported (the peer says so) vs an unexpected error."""
    text = str(e)
    refused = "No available kernel" in text or "No viable backend" in text  # SDPA's words
    if isinstance(e, NotImplementedError) or refused:
        return "unsupported"
    return "error"


class Run:
    """The loop over shapes and peers, with its clock and its rows."""

    def __init__(self, args, peer_list):
        self.args, self.peers = args, peer_list
        self.device = args.device
        self.t0 = time.monotonic()
        self.rows = []
        self.settings = timing.Settings(args.target_seconds, args.min_runs, args.max_runs,
                                        not args.no_graphs)
        self.on_gpu = self.device.startswith("cuda")
        self.memory = 0
        if self.on_gpu:
            self.memory = torch.cuda.get_device_properties(self.device).total_memory
        self.l2 = timing.l2_bytes(self.device)
        self.deadline = args.budget_seconds  # seconds since t0; run_all() sets one per family
        self.broken = ""  # why the CUDA context is unusable, once it is

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def row(self, shape, peer, status, reason="", **extra):
        r = shape.to_dict()
        r.update(peer=peer, status=status, reason=reason, **extra)
        self.rows.append(r)
        return r

    def shape(self, shape):
        too_big = self.on_gpu and shape.input_bytes() > self.args.memory_fraction * self.memory
        if too_big:
            why = (f"inputs take {shape.input_bytes() / 2**30:.1f} GiB, over "
                   f"{self.args.memory_fraction:.0%} of the GPU's memory")
            for p in self.peers:
                self.row(shape, p.name, "skipped", why)
            return
        cap = int(0.2 * self.memory) if self.on_gpu else 1 << 62
        copies = timing.copies_for(shape.input_bytes(), self.l2, cap)
        problems = None
        for p in self.peers:
            if self.broken:
                self.row(shape, p.name, "skipped", f"the device failed earlier: {self.broken}")
                continue
            if self.elapsed() > self.deadline:
                self.row(shape, p.name, "skipped", "this family's share of --budget-seconds "
                         f"{self.args.budget_seconds:.0f} spent")
                continue
            if p.why_not:
                self.row(shape, p.name, "unavailable", p.why_not)
                continue
            unsupported = p.unsupported(shape)
            if unsupported:
                self.row(shape, p.name, "unsupported", unsupported)
                continue
            if problems is None:
                try:
                    problems = [problem_mod.make(shape, self.device, seed=i)
                                for i in range(copies)]
                except Exception as e:  # noqa: BLE001  (out of memory, most likely)
                    problems = _reason(e)
            if isinstance(problems, str):
                self.row(shape, p.name, "error", f"making the inputs: {problems}")
                continue
            self.measure(shape, p, problems)
        del problems
        gc.collect()  # whatever a peer left in reference cycles frees its GPU memory now
        self.settle()

    def settle(self):
        """Frees cached GPU memory; a failure here means the CUDA context is
        broken (a kernel faulted), and every later row says so."""
        if not self.on_gpu or self.broken:
            return
        try:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001
            self.broken = _reason(e)
            if self.rows:
                self.rows[-1]["reason"] += f" (then the device failed: {self.broken})"

    def measure(self, shape, peer, problems):
        runners = []
        try:
            runners = [peer.prepare(pb) for pb in problems]
            t = time.perf_counter()
            out = (runners[0].first or runners[0].run)()
            if self.on_gpu:
                torch.cuda.synchronize()
            first_s = time.perf_counter() - t
            chk = reference.check(problems[0], runners[0].packed(out))
            del out
            common = dict(max_err=chk.max_err, tol=chk.tol, first_call_s=round(first_s, 3),
                          copies=len(problems))
            if runners[0].note:
                common["note"] = runners[0].note
            if not chk.ok:
                self.row(shape, peer.name, "wrong", chk.detail, **common)
                return
            tm, note = timing.measure([r.run for r in runners], self.device, self.settings)
            seconds = tm.median_ms * 1e-3
            self.row(shape, peer.name, "ok", median_ms=tm.median_ms, p10_ms=tm.p10_ms,
                     p90_ms=tm.p90_ms, runs=tm.runs, calls_per_run=tm.calls_per_run,
                     timing_mode=tm.mode, timing_note=note,
                     tflops=shape.flops() / seconds / 1e12,
                     gbps=shape.bytes_moved() / seconds / 1e9,
                     **common)
        except Exception as e:  # noqa: BLE001  (every peer failure becomes a row with its reason)
            self.row(shape, peer.name, _status_of(e), _reason(e))
        finally:
            del runners
            self.settle()

    def progress(self, shape):
        mine = [r for r in self.rows if r["label"] == shape.label() and r["family"] == shape.family]
        cells = ", ".join(f"{r['peer']} {report._cell(r)}" for r in mine)
        print(f"[{self.elapsed():6.1f}s] {shape.family:9s} {shape.label()}: {cells}", flush=True)


def run_all(run: Run, shape_list, meta) -> None:
    args = run.args
    last_partial = time.monotonic()
    families = list(dict.fromkeys(s.family for s in shape_list))
    weight = {f: sum(s.family == f for s in shape_list) + FAMILY_WEIGHT_FLOOR for f in families}
    for i, fam in enumerate(families):
        # Each family gets its share of the budget left (by shape count), so
        # that a slow family (first-call JIT compiles) cannot starve the ones
        # after it; time a family leaves unused goes to the next ones.
        share = weight[fam] / sum(weight[f] for f in families[i:])
        run.deadline = run.elapsed() + share * (args.budget_seconds - run.elapsed())
        for s in (s for s in shape_list if s.family == fam):
            run.shape(s)
            run.progress(s)
            if args.partial_json and time.monotonic() - last_partial > 10:
                report.write_json(args.partial_json, dict(meta, partial=True), run.rows)
                last_partial = time.monotonic()


def select_shapes(args):
    families = [f for f in args.families.split(",") if f]
    if args.device.startswith("cuda"):
        return shapes_mod.matching(shapes_mod.grid(families, args.quick), args.match)
    for f in families:
        if f not in shapes_mod.FAMILIES:
            raise SystemExit(f"--families: family must be one of "
                             f"{', '.join(shapes_mod.FAMILIES)}; got {f!r}")
    return shapes_mod.matching([s for s in shapes_mod.smoke() if s.family in families], args.match)


def main(argv=None) -> int:
    args = parse_args(argv)
    shape_list = select_shapes(args)
    if args.list:
        for s in shape_list:
            print(f"{s.family:9s} {s.label()}")
        print(f"{len(shape_list)} shapes")
        return 0
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            print("suite: --device cuda but torch sees no CUDA GPU (use --device cpu for a smoke "
                  "run)", file=sys.stderr)
            return 2
        if ":" in args.device:  # events, streams and graphs use the current device
            torch.cuda.set_device(args.device)
    try:
        peer_list = peers_mod.make([p for p in args.peers.split(",") if p])
    except ValueError as e:
        print(f"suite: --peers: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    meta = machine(args.device, peer_list, sys.argv[1:] if argv is None else argv)
    meta.update(quick=args.quick, budget_seconds=args.budget_seconds,
                target_seconds=args.target_seconds, graphs=not args.no_graphs)
    print(f"{meta['device_name']}; torch {meta['torch']}; {len(shape_list)} shapes; "
          f"budget {args.budget_seconds:.0f} s", flush=True)
    for name, p in meta["peers"].items():
        print(f"  {name}: {p.get('version') or 'not run: ' + p.get('reason', '')}", flush=True)
    run = Run(args, peer_list)
    run_all(run, shape_list, meta)
    meta["elapsed_s"] = round(run.elapsed(), 1)
    status = exit_status(run.rows)  # its message comes before the table, which is printed last
    if args.partial_json:  # the finished results replace the partial ones
        report.write_json(args.partial_json, meta, run.rows)
    report.write_all(args.out, meta, run.rows, [p.name for p in peer_list])
    return status


def exit_status(rows) -> int:
    mine = [r for r in rows if r["peer"] == "fa3jit"]
    if any(r["status"] == "wrong" for r in mine):
        print("suite: fa3jit failed the reference check (rows marked WRONG)", file=sys.stderr)
        return 1
    if not any(r["status"] == "ok" for r in (mine or rows)):
        print(f"suite: {'fa3jit measured' if mine else 'the peers measured'} nothing "
              f"(see the reasons in the table)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
