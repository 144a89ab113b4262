"""The benchmark's workloads: one Shape per problem, the grids of each family
(full and --quick), and the work each shape does (FLOPs, bytes).

Families: prefill (total 16k tokens, h*d = 2048), varlen (mixed-length
batches, each beside the same tokens as equal-length sequences), decode
(paged KV cache, one query per sequence), specdecode (speculative decoding:
2-8 causal queries per sequence), diffusion (long non-causal sequences), mla
(decode with qv: scores = q.k + qv.v)."""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

FAMILIES = ("prefill", "varlen", "decode", "specdecode", "diffusion", "mla")
# Families whose K/V is a decode cache (4-D or paged), called through
# flash_attn_with_kvcache; the others are packed varlen.
CACHE_FAMILIES = ("decode", "specdecode", "mla")
# Families measured in FLOP/s; the others are memory bound and reported in GB/s.
COMPUTE_BOUND = ("prefill", "varlen", "diffusion")
ELEMENT_BYTES = {"bf16": 2, "fp16": 2, "fp8": 1}


@dataclasses.dataclass(frozen=True)
class Shape:
    family: str
    seqlens_q: tuple
    seqlens_k: tuple
    heads: int
    kv_heads: int
    d: int
    dv: int
    causal: bool
    dtype: str = "bf16"
    page_size: int = 0  # 0: contiguous KV; else paged with this page size
    qv: bool = False  # MLA: an extra (total_q, h, dv) query against V

    @property
    def batch(self) -> int:
        return len(self.seqlens_q)

    @property
    def total_q(self) -> int:
        return sum(self.seqlens_q)

    @property
    def total_k(self) -> int:
        return sum(self.seqlens_k)

    @property
    def max_q(self) -> int:
        return max(self.seqlens_q)

    @property
    def max_k(self) -> int:
        return max(self.seqlens_k)

    @property
    def equal_lengths(self) -> bool:
        """One length for every q and one for every k: a padded (b, s, h, d) batch."""
        return len(set(self.seqlens_q)) == 1 and len(set(self.seqlens_k)) == 1

    @property
    def metric(self) -> str:
        return "tflops" if self.family in COMPUTE_BOUND else "gbps"

    @property
    def softmax_scale(self) -> float:
        # MLA scores sum q.k and qv.v, so the scale covers both parts.
        return (self.d + (self.dv if self.qv else 0)) ** -0.5

    def label(self) -> str:
        if self.equal_lengths:
            lens = f"b{self.batch} sq{self.seqlens_q[0]} sk{self.seqlens_k[0]}"
        else:
            lens = f"b{self.batch} varlen tq{self.total_q} tk{self.total_k}"
        parts = [lens, f"h{self.heads}/{self.kv_heads}", f"d{self.d}"]
        if self.dv != self.d:
            parts.append(f"dv{self.dv}")
        if self.qv:
            parts.append("qv")
        parts.append("causal" if self.causal else "full")
        parts.append(self.dtype)
        if self.family in CACHE_FAMILIES:
            parts.append(f"page{self.page_size}" if self.page_size else "dense")
        return " ".join(parts)

    def flops(self) -> float:
        """Matmul FLOPs of the visible (query, key) pairs: 2*d for q.k, 2*dv for
        P.v, and 2*dv more for qv.v (MLA)."""
        per_pair = 2 * self.d + 2 * self.dv + (2 * self.dv if self.qv else 0)
        pairs = sum(visible_pairs(sq, sk, self.causal)
                    for sq, sk in zip(self.seqlens_q, self.seqlens_k))
        return float(pairs) * self.heads * per_pair

    def bytes_moved(self) -> float:
        """K and V read once (the used tokens of each sequence), q (and qv)
        read once, out written once. Output is bf16 for fp8 inputs."""
        e = ELEMENT_BYTES[self.dtype]
        kv = self.total_k * self.kv_heads * (self.d + self.dv) * e
        q = self.total_q * self.heads * (self.d + (self.dv if self.qv else 0)) * e
        out = self.total_q * self.heads * self.dv * 2
        return float(kv + q + out)

    def input_bytes(self) -> int:
        """Device memory of one copy of the inputs and the output (pages round up)."""
        e = ELEMENT_BYTES[self.dtype]
        k_tokens = self.total_k
        if self.page_size:
            k_tokens = sum(-(-n // self.page_size) for n in self.seqlens_k) * self.page_size
        kv = k_tokens * self.kv_heads * (self.d + self.dv) * e
        q = self.total_q * self.heads * (self.d + (self.dv if self.qv else 0)) * e
        out = self.total_q * self.heads * self.dv * 2
        return int(kv + q + out)

    @classmethod
    def from_dict(cls, row: dict) -> "Shape":
        """The shape of a results.json row (to_dict's output, extra keys ignored)."""
        fields = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row}
        fields["seqlens_q"], fields["seqlens_k"] = tuple(row["seqlens_q"]), tuple(row["seqlens_k"])
        return cls(**fields)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["seqlens_q"], d["seqlens_k"] = list(self.seqlens_q), list(self.seqlens_k)
        d.update(label=self.label(), batch=self.batch, total_q=self.total_q,
                 total_k=self.total_k, flops=self.flops(), bytes=self.bytes_moved(),
                 metric=self.metric)
        return d


def visible_pairs(sq: int, sk: int, causal: bool) -> int:
    """(query, key) pairs the mask keeps. Causal is aligned bottom-right: query
    row r sees keys [0, r + sk - sq], so rows from max(0, sq - sk) on see
    r + sk - sq + 1 keys (an arithmetic series ending at sk)."""
    if sq <= 0 or sk <= 0:
        return 0
    if not causal:
        return sq * sk
    first_row = max(0, sq - sk)
    rows = sq - first_row
    first = first_row + sk - sq + 1
    return rows * (first + sk) // 2


# ---- the grids -----------------------------------------------------------

PREFILL_TOTAL = 16384
PREFILL_HD = 2048


def prefill(quick: bool) -> list:
    lengths = (1024, 4096, 16384) if quick else (512, 1024, 2048, 4096, 8192, 16384)
    out = []
    for dtype in ("bf16", "fp8"):
        for d in (64, 128, 256):
            if quick and dtype == "fp8" and d != 128:
                continue
            h = PREFILL_HD // d
            for causal in (False, True):
                for n in lengths:
                    b = PREFILL_TOTAL // n
                    out.append(Shape("prefill", (n,) * b, (n,) * b, h, h, d, d, causal, dtype))
    return out


def lcg_lengths(count: int, low: int, high: int, seed: int) -> tuple:
    """`count` lengths drawn uniformly from [low, high] by a fixed 32-bit LCG
    (Numerical Recipes' constants): the same mix on every machine and run."""
    x, out = seed, []
    for _ in range(count):
        x = (1664525 * x + 1013904223) % 2**32
        out.append(low + (x >> 8) % (high - low + 1))  # the low bits of an LCG cycle fast
    return tuple(out)


# Mixed-length batches (deterministic, so runs compare): many short prompts
# with a few long ones and a long-tail mix, 16k tokens each; and issue 5's
# target batch, 40 sequences drawn from 128..8k (149763 tokens).
VARLEN_MIXES = {
    "short-heavy": (64, 96, 128, 200, 256, 300, 384, 512, 640, 700, 777, 1000, 1024, 1500,
                    2048, 6755),
    "long-tail": (17, 333, 1000, 2500, 4100, 8434),
    "uniform-40": lcg_lengths(40, 128, 8192, seed=5),
}
VARLEN_QUICK = ("short-heavy", "uniform-40")
# Issue 5: varlen TFLOPS >= this share of the same tokens as equal lengths.
VARLEN_TARGET_RATIO = 0.9


def equal_length_companion(shape: Shape) -> Shape:
    """The same number of sequences and (up to rounding) the same tokens as
    `shape`, every sequence equally long; heads, d, mask and dtype kept. A
    mix's TFLOPS over its companion's is what mixed lengths cost."""
    n = shape.batch
    sq, sk = int(shape.total_q / n + 0.5), int(shape.total_k / n + 0.5)
    return dataclasses.replace(shape, seqlens_q=(sq,) * n, seqlens_k=(sk,) * n)


def varlen(quick: bool) -> list:
    """Each mix followed by its equal-length companion, causal and not."""
    out = []
    for name, lens in VARLEN_MIXES.items():
        if quick and name not in VARLEN_QUICK:
            continue
        for causal in (False, True):
            mix = Shape("varlen", lens, lens, 16, 16, 128, 128, causal)
            out += [mix, equal_length_companion(mix)]
    return out


DECODE_BATCHES = (1, 16, 64, 128)
DECODE_HEADS = ((32, 8), (64, 8), (32, 32))
DECODE_KV = (1024, 8192, 32768, 131072)
DECODE_PAGES = (0, 1, 16, 64)  # 0: the contiguous cache, the one layout SDPA takes


def decode(quick: bool) -> list:
    batches = (1, 64) if quick else DECODE_BATCHES
    heads = ((32, 8), (32, 32)) if quick else DECODE_HEADS
    kv = (8192, 32768) if quick else DECODE_KV
    pages = (0, 16) if quick else DECODE_PAGES
    out = []
    for b in batches:
        for h, hk in heads:
            for n in kv:
                for ps in pages:
                    out.append(Shape("decode", (1,) * b, (n,) * b, h, hk, 128, 128, False,
                                     page_size=ps))
    return out


# Speculative decoding: a few draft tokens per sequence verified in one
# causal call (bottom-right aligned: draft token i sees the cache and drafts
# 0..i). The decode grid's axes, with the query count added.
SPECDECODE_QUERIES = (2, 4, 8)
SPECDECODE_BATCHES = (1, 16, 64, 128)
SPECDECODE_HEADS = ((32, 8), (64, 8), (32, 32))
SPECDECODE_KV = (1024, 8192, 32768, 131072)
SPECDECODE_PAGES = (0, 1, 16, 64)


def specdecode(quick: bool) -> list:
    queries = (2, 8) if quick else SPECDECODE_QUERIES
    batches = (16, 64) if quick else SPECDECODE_BATCHES
    heads = ((32, 8),) if quick else SPECDECODE_HEADS
    kv = (8192,) if quick else SPECDECODE_KV
    pages = (0, 64) if quick else SPECDECODE_PAGES
    return [Shape("specdecode", (nq,) * b, (n,) * b, h, hk, 128, 128, True, page_size=ps)
            for nq in queries for b in batches for h, hk in heads for n in kv for ps in pages]


# (heads, tokens): image / video DiT self-attention, batch 1, d 128.
DIFFUSION = ((24, 16384), (24, 32768), (40, 32760), (40, 75600))


def diffusion(quick: bool) -> list:
    shapes = ((24, 16384), (40, 75600)) if quick else DIFFUSION
    return [Shape("diffusion", (n,), (n,), h, h, 128, 128, False) for h, n in shapes]


# DeepSeek-style MLA decode: 128 (or 16, one GPU of TP 8) heads share one
# latent KV head; q is the 64-dim rope part, qv the 512-dim absorbed part.
MLA_BATCHES = (1, 16, 64, 128)
MLA_HEADS = (16, 128)
MLA_KV = (1024, 8192, 32768)
MLA_PAGES = (0, 64)  # 0: contiguous, for SDPA (as one attention over [q, qv] . [k, v])


def mla(quick: bool) -> list:
    batches = (16, 128) if quick else MLA_BATCHES
    heads = (128,) if quick else MLA_HEADS
    kv = (8192,) if quick else MLA_KV
    return [Shape("mla", (1,) * b, (n,) * b, h, 1, 64, 512, False, page_size=ps, qv=True)
            for b in batches for h in heads for n in kv for ps in MLA_PAGES]


def smoke() -> list:
    """Small shapes of every family for a CPU smoke run (--device cpu)."""
    return [
        Shape("prefill", (128,) * 2, (128,) * 2, 4, 4, 64, 64, False),
        Shape("prefill", (128,) * 2, (128,) * 2, 4, 4, 64, 64, True),
        Shape("prefill", (128,) * 2, (128,) * 2, 4, 4, 64, 64, True, "fp8"),
        Shape("varlen", (17, 100, 64), (17, 100, 64), 4, 4, 64, 64, True),
        Shape("varlen", (60,) * 3, (60,) * 3, 4, 4, 64, 64, True),  # the mix's companion
        Shape("decode", (1,) * 3, (300,) * 3, 8, 2, 64, 64, False, page_size=0),
        Shape("decode", (1,) * 3, (300,) * 3, 8, 2, 64, 64, False, page_size=16),
        Shape("decode", (1,) * 3, (300,) * 3, 8, 2, 64, 64, False, "fp8", page_size=16),
        Shape("specdecode", (4,) * 3, (300,) * 3, 8, 2, 64, 64, True, page_size=0),
        Shape("specdecode", (4,) * 3, (300,) * 3, 8, 2, 64, 64, True, page_size=16),
        Shape("diffusion", (256,), (256,), 2, 2, 128, 128, False),
        Shape("mla", (1,) * 2, (200,) * 2, 8, 1, 64, 128, False, page_size=0, qv=True),
        Shape("mla", (1,) * 2, (200,) * 2, 8, 1, 64, 128, False, page_size=64, qv=True),
    ]


_GRIDS = {"prefill": prefill, "varlen": varlen, "decode": decode, "specdecode": specdecode,
          "diffusion": diffusion, "mla": mla}


def grid(families: Iterable[str], quick: bool) -> list:
    """The shapes of the given families, in the order given."""
    out = []
    for f in families:
        if f not in _GRIDS:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {f!r}")
        out += _GRIDS[f](quick)
    return out


def matching(shapes: list, pattern) -> list:
    """The shapes whose label matches the regular expression (re.search);
    all of them when pattern is None or empty."""
    if not pattern:
        return list(shapes)
    rx = re.compile(pattern)
    return [s for s in shapes if rx.search(s.label())]
