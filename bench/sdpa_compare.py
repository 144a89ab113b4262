#!/usr/bin/env python3
"""Times PyTorch SDPA (FLASH_ATTENTION and CUDNN_ATTENTION backends) on the
prefill shapes of `fa3jit bench` and prints them side by side with fa3jit's
numbers (from `fa3jit bench --json FILE`). Needs a CUDA GPU and torch.

    python3 bench/sdpa_compare.py --fa3jit-json fa3jit.json [--json out.json]
"""
import argparse
import json
import sys


def visible_pairs(sq, sk, causal):
    """(query, key) pairs the mask keeps: bottom-right causal like fa3jit."""
    if not causal:
        return sq * sk
    total = 0
    for r in range(sq):
        total += max(0, min(sk, r + sk - sq + 1))
    return total


def shapes_from(fa3jit_rows, args):
    if fa3jit_rows:
        seen, out = set(), []
        for r in fa3jit_rows:
            key = (r["batch"], r["seqlen_q"], r["seqlen_k"], r["heads"], r["kv_heads"], r["d"], r["dv"], r["causal"])
            if key not in seen and r.get("dtype", "bf16") in ("bf16", "bfloat16") and r.get("page_size", 0) == 0:
                seen.add(key)
                out.append(key)
        return out
    out = []
    for d in args.d:
        for s in args.seqlen:
            for causal in (False, True):
                h = max(1, 2048 // d)
                out.append((max(1, 16384 // s), s, s, h, h, d, d, causal))
    return out


def time_ms(fn, warmup, iters):
    import torch
    for _ in range(warmup):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fa3jit-json", help="results of `fa3jit bench --json` (shapes and fa3jit times)")
    ap.add_argument("--d", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--seqlen", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--json", help="write the combined table here")
    args = ap.parse_args()

    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        print("sdpa_compare: no CUDA GPU visible to torch", file=sys.stderr)
        return 2
    fa_rows = []
    if args.fa3jit_json:
        with open(args.fa3jit_json) as f:
            fa_rows = json.load(f)["results"]
    fa_by_shape = {}
    for r in fa_rows:
        key = (r["batch"], r["seqlen_q"], r["seqlen_k"], r["heads"], r["kv_heads"], r["d"], r["dv"], r["causal"])
        fa_by_shape[key] = r

    backends = [("sdpa_flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)]
    table = []
    for key in shapes_from(fa_rows, args):
        b, sq, sk, h, hk, d, dv, causal = key
        flops = 2.0 * visible_pairs(sq, sk, causal) * b * h * (d + dv)
        row = {"batch": b, "seqlen_q": sq, "seqlen_k": sk, "heads": h, "kv_heads": hk, "d": d, "dv": dv,
               "causal": causal}
        fa = fa_by_shape.get(key)
        row["fa3jit_tflops"] = fa["tflops"] if fa and fa.get("ok") else None
        row["fa3jit_ok"] = bool(fa and fa.get("ok"))
        g = torch.Generator(device="cuda").manual_seed(0)
        q = torch.randn(b, h, sq, d, device="cuda", dtype=torch.bfloat16, generator=g)
        k = torch.randn(b, hk, sk, d, device="cuda", dtype=torch.bfloat16, generator=g)
        v = torch.randn(b, hk, sk, dv, device="cuda", dtype=torch.bfloat16, generator=g)
        # SDPA's is_causal is top-left aligned; the shapes here have sq == sk,
        # where it equals fa3jit's bottom-right rule.
        for name, be in backends:
            try:
                with sdpa_kernel([be]):
                    fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hk != h)
                    ms = time_ms(fn, args.warmup, args.iters)
                row[name + "_tflops"] = flops / (ms * 1e-3) / 1e12
            except Exception as e:  # a backend may not take a shape (e.g. d > 128 on some builds)
                row[name + "_tflops"] = None
                row[name + "_error"] = str(e).splitlines()[0][:120]
        table.append(row)
        del q, k, v
        torch.cuda.empty_cache()

    def fmt(x):
        return f"{x:8.1f}" if isinstance(x, (int, float)) else "       -"

    print(f"\nbf16 attention forward, TFLOPS (visible pairs), {torch.cuda.get_device_name()}")
    print(f"{'batch':>5} {'seqlen':>6} {'heads':>5} {'d':>4} {'causal':>6} | {'fa3jit':>8} {'sdpa_fa2':>8} {'cudnn':>8}"
          f" | {'fa3/fa2':>7} {'fa3/cudnn':>9}")
    for r in table:
        fa, fl, cu = r["fa3jit_tflops"], r["sdpa_flash_tflops"], r["cudnn_tflops"]
        ratio = lambda a, c: f"{a / c:7.2f}" if a and c else "      -"
        print(f"{r['batch']:>5} {r['seqlen_q']:>6} {r['heads']:>5} {r['d']:>4} {str(r['causal']):>6} | "
              f"{fmt(fa)} {fmt(fl)} {fmt(cu)} | {ratio(fa, fl)} {ratio(fa, cu):>9}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device_name": torch.cuda.get_device_name(), "results": table}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
