#!/usr/bin/env python3
"""Measures what the JIT costs a user: the wall time of the FIRST
fa3jit.flash_attn_varlen_func call in a fresh process (kernel lookup, NVRTC
compile or disk-cache read, module load, launch, synchronize), with an empty
cache (cold) and then with the cache the cold run filled (warm), beside the
steady-state time of the same call. Torch, its CUDA context and the inputs
are set up before the clock starts, so only fa3jit's first-use cost is in it.

    python3 bench/jit_first_call.py [--cache-dir DIR] [--d 64 128 256]

The path is the one fa3jit picks (sm90 on Hopper). Prints one row per (d, causal): cold ms, warm first-call ms, steady ms.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time, torch, fa3jit
d, causal = int(sys.argv[1]), sys.argv[2] == "1"
q, k, v = (torch.randn(2, 1024, 2048 // d, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
torch.cuda.synchronize()
def call():
    return fa3jit.flash_attn_varlen_func(q, k, v, None, None, causal=causal)
t0 = time.perf_counter(); call(); torch.cuda.synchronize(); first = (time.perf_counter() - t0) * 1e3
for _ in range(3): call()
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(20): call()
torch.cuda.synchronize()
steady = (time.perf_counter() - t0) * 1e3 / 20
print(json.dumps({"first_ms": first, "steady_ms": steady}))
"""


def child(cache_dir, d, causal):
    env = dict(os.environ, FA3JIT_CACHE_DIR=cache_dir)
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
    print(f"{'d':>4} {'causal':>6} | {'cold ms':>9} {'warm 1st ms':>11} {'steady ms':>9}")
    for d in args.d:
        for causal in (False, True):
            cold = child(cache, d, causal)
            warm = child(cache, d, causal)
            row = {"d": d, "causal": causal, "cold_first_ms": cold["first_ms"],
                   "warm_first_ms": warm["first_ms"], "steady_ms": warm["steady_ms"]}
            rows.append(row)
            print(f"{d:4} {str(causal):>6} | {row['cold_first_ms']:9.1f} {row['warm_first_ms']:11.1f} "
                  f"{row['steady_ms']:9.3f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
