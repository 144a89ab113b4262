#!/usr/bin/env python3
"""Measures what the JIT costs a user: the wall time of the FIRST
fa3jit.flash_attn_varlen_func call in a fresh process (kernel lookup, NVRTC
compile or disk-cache read, module load, launch, synchronize), with an empty
cache (cold) and then with the cache the cold run filled (warm), beside the
steady-state time of the same call. Torch, its CUDA context and the inputs
are set up before the clock starts, and `import fa3jit` with its torch
custom-op registration is timed apart ("import ms"); the first call is an
eager one, which skips the custom op, so its column is the JIT's cost; the
first call through the torch custom op comes after it ("op 1st ms": the
op's own first-use cost, the kernel already loaded). The JIT trace
(FA3JIT_JIT_TRACE) of each run counts its compiles and disk-cache hits, so
a warm run that compiled shows.

    python3 bench/jit_first_call.py [--cache-dir DIR] [--d 64 128 256]

The path is the one fa3jit picks (sm90 on Hopper). One row per (d, causal).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, os, sys, time, torch
d, causal = int(sys.argv[1]), sys.argv[2] == "1"
q, k, v = (torch.randn(2, 1024, 2048 // d, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
torch.cuda.synchronize()
t0 = time.perf_counter()
import fa3jit
import fa3jit._torch_ops  # the torch custom-op registration, timed apart from the JIT
register = (time.perf_counter() - t0) * 1e3
def call():
    return fa3jit.flash_attn_varlen_func(q, k, v, None, None, causal=causal)
# The first call: eager torch calls go straight to C++ (no custom op), so
# this is the JIT's part (kernel lookup, compile or cache read, module
# load, launch).
t0 = time.perf_counter(); call(); torch.cuda.synchronize(); first = (time.perf_counter() - t0) * 1e3
# Then the first call through the torch custom op (what torch.compile
# records; eager calls skip it, so it is forced here).
from fa3jit import _torch_ops
eager_call, _torch_ops.eager_call = _torch_ops.eager_call, lambda q: False
t0 = time.perf_counter(); call(); torch.cuda.synchronize(); op_first = (time.perf_counter() - t0) * 1e3
_torch_ops.eager_call = eager_call
for _ in range(3): call()
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(20): call()
torch.cuda.synchronize()
steady = (time.perf_counter() - t0) * 1e3 / 20
trace = open(os.environ["FA3JIT_JIT_TRACE"]).read() if os.path.exists(os.environ["FA3JIT_JIT_TRACE"]) else ""
print(json.dumps({"first_ms": first, "op_first_ms": op_first, "steady_ms": steady, "import_ms": register,
                  "compiles": trace.count(" compile "), "disk_hits": trace.count(" disk-hit"),
                  "loaded": [l.split("] ", 1)[-1] for l in trace.splitlines() if "] loaded " in l]}))
"""

def child(cache_dir, d, causal):
    trace = os.path.join(tempfile.gettempdir(), f"fa3jit-first-call-trace-{os.getpid()}-{d}-{int(causal)}-{time.monotonic_ns()}.txt")
    env = dict(os.environ, FA3JIT_CACHE_DIR=cache_dir, FA3JIT_JIT_TRACE=trace)
    r = subprocess.run([sys.executable, "-c", CHILD, str(d), "1" if causal else "0"], env=env,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"d={d} causal={causal}: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", help="an EMPTY directory for the cache (default: a new temporary one)")
    ap.add_argument("--d", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    cache = args.cache_dir or tempfile.mkdtemp(prefix="fa3jit_first_call_")
    rows = []
    print(f"{'d':>4} {'causal':>6} | {'cold ms':>9} {'compiles':>8} | {'warm 1st ms':>11} {'hits':>4} "
          f"{'compiles':>8} | {'steady ms':>9} | {'import ms':>9} {'op 1st ms':>9}")
    for d in args.d:
        for causal in (False, True):
            cold = child(cache, d, causal)
            warm = child(cache, d, causal)
            row = {"d": d, "causal": causal, "cold_first_ms": cold["first_ms"], "cold_compiles": cold["compiles"],
                   "warm_first_ms": warm["first_ms"], "warm_disk_hits": warm["disk_hits"],
                   "warm_compiles": warm["compiles"], "steady_ms": warm["steady_ms"],
                   "op_first_ms": warm["op_first_ms"], "warm_loaded": warm["loaded"],
                   "import_ms": warm["import_ms"]}
            rows.append(row)
            print(f"{d:4} {str(causal):>6} | {row['cold_first_ms']:9.1f} {row['cold_compiles']:8} | "
                  f"{row['warm_first_ms']:11.1f} {row['warm_disk_hits']:4} {row['warm_compiles']:8} | "
                  f"{row['steady_ms']:9.3f} | {row['import_ms']:9.1f} {row['op_first_ms']:9.1f}", flush=True)
    print("\nwarm runs, JIT trace (FA3JIT_JIT_TRACE) of each kernel load:")
    for row in rows:
        for line in row["warm_loaded"]:
            print(f"  d{row['d']} {'causal' if row['causal'] else 'full'}: {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
