"""A float64 attention reference in numpy, written from the design brief's
semantics (not from fa3jit's code), and its "plain" twin: the same
non-flash computation in float32 with P and out rounded to the input dtype,
whose error sets the test tolerance (the upstream FlashAttention rule)."""

from __future__ import annotations

import numpy as np


def _lengths(b, cu, used, default):
    if used is not None:
        return int(used[b])
    if cu is not None:
        return int(cu[b + 1] - cu[b])
    return int(default)


def _keys(x, b, n, cu, page_table):
    """The first n tokens of sequence b of k or v: (n, h_k, d)."""
    if page_table is not None:
        ps = x.shape[1]
        j = np.arange(n)
        return x[page_table[b, j // ps], j % ps]
    if cu is None:
        return x[b, :n]
    return x[int(cu[b]):int(cu[b]) + n]


def _visible(sq, sk, causal, window, chunk):
    """(sq, sk) bool: masks aligned bottom-right (query i at key i + sk - sq)."""
    c = np.arange(sq)[:, None] + sk - sq
    j = np.arange(sk)[None, :]
    left, right = window
    if causal:
        right = 0
    ok = np.ones((sq, sk), dtype=bool)
    if left >= 0:
        ok &= j >= c - left
    if right >= 0:
        ok &= j <= c + right
    if chunk > 0:
        start = (c // chunk) * chunk  # floor: rounds down for negative c too
        ok &= (j >= start) & (j < start + chunk)
    return ok


def round_bf16(x):
    """x rounded to bfloat16 (nearest even), as float32; no ml_dtypes needed."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).reshape(np.shape(x))


def _rounder(plain):
    """The function that rounds float32 values to the plain dtype."""
    if isinstance(plain, str) and plain == "bfloat16":
        return round_bf16
    return lambda x: x.astype(plain).astype(np.float32)


def _matmul(a, b, plain):
    """a @ b; the plain twin sums in order in float32, as a simple loop
    would (BLAS's blocked sums would flatter it and shrink the tolerance)."""
    if plain is None:
        return a @ b
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for e in range(a.shape[1]):
        acc += a[:, e:e + 1] * b[e:e + 1, :]
    return acc


def attention(q, k, v, *, cu_seqlens_q=None, cu_seqlens_k=None, seqused_q=None, seqused_k=None,
              page_table=None, max_seqlen_k=None, softmax_scale=None, causal=False,
              window_size=(-1, -1), attention_chunk=0, softcap=0.0, sinks=None, qv=None,
              only_qv=False, q_descale=None, k_descale=None, v_descale=None, plain=None):
    """Returns (out, lse, real): out float64 in the layout of the output,
    lse float64 ((h, total_q) or (b, h, s_q)), real bool (out's shape without
    the last dim): rows past seqused_q are padding that must stay untouched.

    plain: None for float64; else the input dtype (a numpy dtype, or
    "bfloat16"), for the float32 twin that rounds P and out to it."""
    ct = np.float64 if plain is None else np.float32
    q4 = cu_seqlens_q is None
    h, d = q.shape[-2], q.shape[-1]
    h_k, dv = k.shape[-2], v.shape[-1]
    group = h // h_k
    b_count = q.shape[0] if q4 else len(cu_seqlens_q) - 1
    if page_table is not None and max_seqlen_k is None:
        max_seqlen_k = page_table.shape[1] * k.shape[1]
    if page_table is None and cu_seqlens_k is None:
        max_seqlen_k = k.shape[1]
    # Default: 1/sqrt of the score's dot-product length, as upstream FA3.
    score_dim = dv if only_qv else (d + dv if qv is not None else d)
    scale = softmax_scale if softmax_scale is not None else 1.0 / np.sqrt(score_dim)

    out = np.zeros(q.shape[:-1] + (dv,))
    real = np.zeros(q.shape[:-1], dtype=bool)
    lse = np.zeros((b_count, h, q.shape[1]) if q4 else (h, q.shape[0]))
    cast = lambda x: x.astype(ct)  # noqa: E731
    for b in range(b_count):
        sq = _lengths(b, cu_seqlens_q, seqused_q, q.shape[1] if q4 else 0)
        sk = _lengths(b, cu_seqlens_k, seqused_k, max_seqlen_k)
        start = 0 if q4 else int(cu_seqlens_q[b])
        rows = (b, slice(0, sq)) if q4 else (slice(start, start + sq),)
        qb = cast(q[rows])  # (sq, h, d)
        qvb = cast(qv[rows]) if qv is not None else None
        kb = cast(_keys(k, b, sk, cu_seqlens_k, page_table))
        vb = cast(_keys(v, b, sk, cu_seqlens_k, page_table))
        vis = _visible(sq, sk, causal, window_size, attention_chunk)
        real[rows] = True
        for hh in range(h):
            hk = hh // group
            s = np.zeros((sq, sk), dtype=ct)
            if not only_qv:
                s += _matmul(qb[:, hh], kb[:, hk].T, plain)
            if qvb is not None:
                s += _matmul(qvb[:, hh], vb[:, hk].T, plain)
            qk_scale = scale
            if q_descale is not None:
                qk_scale = qk_scale * float(q_descale[b, hk]) * float(k_descale[b, hk])
            s = s * ct(qk_scale)
            if softcap > 0:
                s = ct(softcap) * np.tanh(s / ct(softcap))
            s = np.where(vis, s, -np.inf)
            m = s.max(axis=1, initial=-np.inf)
            sink = ct(sinks[hh]) if sinks is not None else None
            if sink is not None:
                m = np.maximum(m, sink)
            none = ~vis.any(axis=1)
            m_safe = np.where(np.isfinite(m), m, 0)
            p = np.exp(s - m_safe[:, None])
            denom = p.sum(axis=1) + (np.exp(sink - m_safe) if sink is not None else 0)
            if plain is not None:
                p = _rounder(plain)(p)
            o = _matmul(p, vb[:, hk], plain) / np.where(none, 1, denom)[:, None]
            if v_descale is not None:
                o = o * ct(v_descale[b, hk])
            o[none] = 0
            if plain is not None:
                o = _rounder(plain)(o)
            row_lse = m_safe + np.log(np.where(none, 1, denom))
            row_lse = np.where(none, sink if sink is not None else -np.inf, row_lse)
            if q4:
                out[b, :sq, hh] = o
                lse[b, hh, :sq] = row_lse
            else:
                out[rows[0], hh] = o
                lse[hh, rows[0]] = row_lse
    return out, lse, real


def unit_roundoff(dtype) -> float:
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    return {"float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}[name]


def check(out, lse, ref, plain_out, dtype, softcap=0.0, fp8=False):
    """Asserts the design's tolerance: max|out - ref| <= factor * max|plain
    - ref| + atol over real rows (factor 2; 3 with softcap; 4 for fp8
    inputs), LSE to 1e-3 relative (3x with softcap, 4x fp8), -inf where a
    row has no key. dtype: the output's."""
    ref_out, ref_lse, real = ref
    got = np.asarray(out)[real].astype(np.float64)  # padding rows may hold anything
    want, plain_got = ref_out[real], plain_out[real]
    ref_max = np.abs(want).max(initial=0.0)
    plain_err = np.abs(plain_got - want).max(initial=0.0)
    atol = 2 * unit_roundoff(dtype) * (ref_max + 0.3)
    factor = 4.0 if fp8 else (3.0 if softcap > 0 else 2.0)
    tol = factor * plain_err + atol
    err = np.abs(got - want).max(initial=0.0)
    assert np.isfinite(got).all(), "out has non-finite values in real rows"
    assert err <= tol, f"max|out - ref| = {err} > tol {tol} (plain err {plain_err}, atol {atol})"
    if lse is None:
        return
    got_lse = np.asarray(lse).astype(np.float64)
    lse_real = _lse_real(real)
    want_lse = ref_lse[lse_real]
    g = got_lse[lse_real]
    no_key = np.isneginf(want_lse)
    assert np.isneginf(g[no_key]).all(), "rows with no key must have LSE -inf"
    rel = 1e-3 * (3.0 if softcap > 0 else 1.0) * (4.0 if fp8 else 1.0)
    lse_err = np.abs(g[~no_key] - want_lse[~no_key])
    bound = rel * np.maximum(1.0, np.abs(want_lse[~no_key]))
    assert (lse_err <= bound).all(), f"LSE off by up to {lse_err.max(initial=0)}"


def _lse_real(real):
    """real (rows..., h) in out's layout -> the LSE's layout."""
    if real.ndim == 2:  # (total_q, h) -> (h, total_q)
        return real.T
    return real.transpose(0, 2, 1)  # (b, s_q, h) -> (b, h, s_q)
