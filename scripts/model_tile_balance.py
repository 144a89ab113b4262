#!/usr/bin/env python3
"""How evenly the sm90 kernel's persistent CTAs share the work: a host model
of the tile list of kernels/sm90/tile_sched.cuh (keep the two in step) and of
two ways to hand it out. A tile costs `c_tile` + its key blocks (a block =
one S + softmax + P V); the result is the mean CTA load over the busiest
CTA's (1.0 = perfect balance) for
  static:  the kernel's walk today (round k, CTA i takes tile k * grid + i,
           snake order on odd rounds);
  dynamic: each CTA takes the next tile of the same list when it is free
           (an atomic tile counter, as FlashAttention-3's scheduler).
Run: python3 scripts/model_tile_balance.py [--grid 132] [--c-tile 1.5]
Session 6: causal prefill of equal lengths 0.83-0.94 static vs 0.91-1.00
dynamic; the suite's short-heavy varlen mix 0.60 vs 0.94."""
import argparse
import heapq
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import shapes  # noqa: E402  (the suite's varlen mixes)


def tile_blocks(lens, heads, block_m, block_n, causal, grid):
    """Key blocks of each tile in list order (None: past its sequence)."""
    m_tiles = max(math.ceil(n / block_m) for n in lens)
    pairs = heads * len(lens)
    group = max(1, min((2 * grid + m_tiles - 1) // m_tiles, pairs))  # sm90_path.cpp tile_group
    out = []
    for t in range(m_tiles * pairs):
        gi, r = divmod(t, group * m_tiles)
        in_group = min(group, pairs - gi * group)
        b = (gi * group + r % in_group) // heads
        m = m_tiles - 1 - r // in_group
        n = lens[b]
        if m * block_m >= n:
            out.append(None)
        else:
            keys = min(n, (m + 1) * block_m) if causal else n  # bottom-right causal, seqlen_q == seqlen_k
            out.append(math.ceil(keys / block_n))
    return out


def static_load(tiles, grid, c_tile):
    load = [0.0] * grid
    for k in range(math.ceil(len(tiles) / grid)):
        for cta in range(grid):
            t = k * grid + (grid - 1 - cta if k & 1 else cta)
            if t < len(tiles) and tiles[t] is not None:
                load[cta] += c_tile + tiles[t]
    return max(load)


def dynamic_load(tiles, grid, c_tile):
    free_at = [0.0] * grid
    for w in tiles:
        if w is not None:
            heapq.heappush(free_at, heapq.heappop(free_at) + c_tile + w)
    return max(free_at)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, default=132, help="persistent CTAs (the H100's SMs)")
    ap.add_argument("--c-tile", type=float, default=1.5, help="fixed cost of a tile, in key blocks")
    a = ap.parse_args(argv)
    cases = [(f"b{b} {n} h{h} bn{bn}", (n,) * b, h, bn) for b, n, h, bn in
             [(8, 2048, 16, 128), (4, 4096, 16, 128), (1, 16384, 16, 128), (4, 4096, 32, 128), (4, 4096, 8, 64)]]
    cases += [(f"varlen {name}", lens, 16, 128) for name, lens in shapes.VARLEN_MIXES.items()]
    print(f"{'shape':28s} {'mask':7s} {'tiles':>6s} {'static':>7s} {'dynamic':>8s}")
    for label, lens, heads, bn in cases:
        for causal in (False, True):
            tiles = tile_blocks(list(lens), heads, 128, bn, causal, a.grid)
            real = [w for w in tiles if w is not None]
            ideal = (sum(real) + a.c_tile * len(real)) / a.grid
            static, dynamic = static_load(tiles, a.grid, a.c_tile), dynamic_load(tiles, a.grid, a.c_tile)
            print(f"{label:28s} {'causal' if causal else 'full':7s} {len(real):6d} "
                  f"{ideal / static:7.3f} {ideal / dynamic:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
