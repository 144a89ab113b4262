"""Random attention problems as numpy arrays: the fa3jit arguments and the
matching reference arguments."""

from __future__ import annotations

import dataclasses

import numpy as np

try:
    import ml_dtypes
except ImportError:  # bfloat16 tests need it
    ml_dtypes = None


def np_dtype(name):
    if name in ("bfloat16", "float8_e4m3fn"):
        return getattr(ml_dtypes, name)
    return np.dtype(name)


@dataclasses.dataclass
class Case:
    dtype: str = "float32"
    h: int = 4
    h_k: int = 2
    d: int = 32
    dv: int = 0  # 0: same as d
    seqlens_q: tuple = (5, 0, 17)
    seqlens_k: tuple = (9, 4, 17)
    fixed: bool = False  # 4-D (b, s, h, d): every length is seqlens_q[0] / seqlens_k[0]
    seqused_q: bool = False
    seqused_k: bool = False
    page_size: int = 0
    causal: bool = False
    window_size: tuple = (-1, -1)
    attention_chunk: int = 0
    softcap: float = 0.0
    sinks: bool = False
    qv: bool = False
    only_qv: bool = False
    num_splits: int = 1
    softmax_scale: float = None
    descale: bool = False  # q/k/v_descale (b, h_k) in [0.5, 2] (fp8 inputs)
    seed: int = 0


def build(case: Case):
    """(fa3jit kwargs, reference kwargs): the same arrays, the inputs already
    rounded to case.dtype."""
    rng = np.random.default_rng(case.seed)
    dt = np_dtype(case.dtype)
    dv = case.dv or case.d
    b = len(case.seqlens_q)
    lq = list(case.seqlens_q)
    lk = list(case.seqlens_k)
    if case.fixed:
        lq, lk = [lq[0]] * b, [lk[0]] * b

    def rand(*shape):
        return rng.standard_normal(shape).astype(np.float32).astype(dt)

    def cu(lengths):
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)

    a = {}
    if case.fixed:
        a["q"] = rand(b, lq[0], case.h, case.d)
        a["cu_seqlens_q"] = None
        a["max_seqlen_q"] = None
    else:
        a["q"] = rand(sum(lq), case.h, case.d)
        a["cu_seqlens_q"] = cu(lq)
        a["max_seqlen_q"] = max(lq, default=0)
    a["seqused_q"] = None
    if case.seqused_q:
        a["seqused_q"] = np.array([rng.integers(0, n + 1) for n in lq], dtype=np.int32)

    a["page_table"] = None
    a["seqused_k"] = None
    if case.page_size:
        ps = case.page_size
        need = [-(-n // ps) for n in lk]
        pages_per_seq = max(max(need, default=0), 1)
        num_pages = sum(need) + 2
        perm = rng.permutation(num_pages).astype(np.int32)
        table = rng.integers(0, num_pages, size=(b, pages_per_seq)).astype(np.int32)
        at = 0
        for i, n in enumerate(need):
            table[i, :n] = perm[at:at + n]
            at += n
        a["page_table"] = table
        a["k"] = rand(num_pages, ps, case.h_k, case.d)
        a["v"] = rand(num_pages, ps, case.h_k, dv)
        a["cu_seqlens_k"] = None
        a["seqused_k"] = np.array(lk, dtype=np.int32)
        a["max_seqlen_k"] = None
    elif case.fixed:
        a["k"] = rand(b, lk[0], case.h_k, case.d)
        a["v"] = rand(b, lk[0], case.h_k, dv)
        a["cu_seqlens_k"] = None
        a["max_seqlen_k"] = None
    else:
        a["k"] = rand(sum(lk), case.h_k, case.d)
        a["v"] = rand(sum(lk), case.h_k, dv)
        a["cu_seqlens_k"] = cu(lk)
        a["max_seqlen_k"] = max(lk, default=0)
    if case.seqused_k and not case.page_size:
        a["seqused_k"] = np.array([rng.integers(0, n + 1) for n in lk], dtype=np.int32)

    a["qv"] = rand(*a["q"].shape[:-1], dv) if case.qv else None
    a["sinks"] = rng.standard_normal(case.h).astype(np.float32) if case.sinks else None
    for name in ("q_descale", "k_descale", "v_descale"):
        a[name] = rng.uniform(0.5, 2, (b, case.h_k)).astype(np.float32) if case.descale else None
    for name in ("causal", "window_size", "attention_chunk", "softcap", "only_qv",
                 "num_splits", "softmax_scale"):
        a[name] = getattr(case, name)

    ref = {name: a[name] for name in ("cu_seqlens_q", "cu_seqlens_k", "seqused_q", "seqused_k",
                                      "page_table", "softmax_scale", "causal", "window_size",
                                      "attention_chunk", "softcap", "sinks", "only_qv",
                                      "qv", "q_descale", "k_descale", "v_descale")}
    return a, ref
