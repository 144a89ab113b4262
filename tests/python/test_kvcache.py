"""flash_attn_with_kvcache on numpy: attention over the cache checked
against the float64 reference; appending k / v (dense and paged caches,
cache_batch_idx, cache_leftpad, varlen new tokens) with rotary (interleaved
or halves, rotary_seqlens) checked against a numpy model of the append
(caches compared exactly) and the reference on the packed keys; errors
named by argument."""

import numpy as np
import pytest

import fa3jit
from attention_reference import attention, check
from problems import Case, build


def decode_problem(page_size, causal, dtype="float32", s_q=1):
    """A decode batch: 4-D q (b, s_q, h, d), keys in a (paged) cache."""
    case = Case(dtype=dtype, seqlens_q=(s_q, s_q, s_q), seqlens_k=(13, 1, 30), fixed=False,
                page_size=page_size, causal=causal, seed=5)
    a, ref = build(case)
    b = 3
    q4 = a["q"].reshape(b, s_q, case.h, case.d)
    return case, a, ref, q4


@pytest.mark.parametrize("page_size", [1, 4, 16])
@pytest.mark.parametrize("causal", [False, True])
def test_paged_cache_matches_reference(page_size, causal):
    case, a, ref_kwargs, q4 = decode_problem(page_size, causal, s_q=2)
    out, lse = fa3jit.flash_attn_with_kvcache(
        q4, a["k"], a["v"], cache_seqlens=a["seqused_k"], page_table=a["page_table"],
        causal=causal, return_softmax_lse=True)
    assert out.shape == q4.shape and lse.shape == (3, case.h, 2)
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=np.float32)
    # The reference ran on the varlen view of q: compare in that layout.
    lse_varlen = lse.transpose(1, 0, 2).reshape(case.h, -1)
    check(out.reshape(a["q"].shape[:-1] + (-1,)), lse_varlen, ref, plain, "float32")


def test_dense_cache_with_int_cache_seqlens():
    rng = np.random.default_rng(2)
    b, s_cache, h, h_k, d = 2, 10, 4, 2, 16
    q = rng.standard_normal((b, 1, h, d)).astype(np.float16)
    kc = rng.standard_normal((b, s_cache, h_k, d)).astype(np.float16)
    vc = rng.standard_normal((b, s_cache, h_k, d)).astype(np.float16)
    out = fa3jit.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=7, causal=True)
    used = np.full((b,), 7, np.int32)
    ref_kwargs = dict(seqused_k=used, causal=True)
    ref = attention(q, kc, vc, **ref_kwargs)
    plain, _, _ = attention(q, kc, vc, **ref_kwargs, plain=np.float16)
    check(out, None, ref, plain, "float16")
    # Keys past cache_seqlens must not matter.
    kc2 = kc.copy()
    kc2[:, 7:] = 100
    out2 = fa3jit.flash_attn_with_kvcache(q, kc2, vc, cache_seqlens=7, causal=True)
    np.testing.assert_array_equal(out, out2)


def test_varlen_q_against_paged_cache_with_sinks_and_window():
    case = Case(seqlens_q=(3, 1), seqlens_k=(9, 20), page_size=4, sinks=True,
                window_size=(5, 0), seed=9)
    a, ref_kwargs = build(case)
    out = fa3jit.flash_attn_with_kvcache(
        a["q"], a["k"], a["v"], cache_seqlens=a["seqused_k"], page_table=a["page_table"],
        cu_seqlens_q=a["cu_seqlens_q"], max_seqlen_q=3, window_size=(5, 0), sinks=a["sinks"])
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=np.float32)
    check(out, None, ref, plain, "float32")


# ---- appending new tokens, rotary, cache rows, left padding -----------------

def rotate(x, cos, sin, positions, interleaved):
    """x (..., n, d) rotated on its first 2 * cos.shape[1] dims; token t at
    positions[t]. float32 products rounded before the sum, as fa3jit
    documents (so the caches compare exactly)."""
    half = cos.shape[1]
    c = cos[positions].astype(np.float32)[..., None, :]  # (n, 1, half), broadcast over heads
    s = sin[positions].astype(np.float32)[..., None, :]
    y = x.astype(np.float32).copy()
    if interleaved:
        x0, x1 = y[..., 0:2 * half:2].copy(), y[..., 1:2 * half:2].copy()
        y[..., 0:2 * half:2] = x0 * c - x1 * s
        y[..., 1:2 * half:2] = x0 * s + x1 * c
    else:
        x0, x1 = y[..., :half].copy(), y[..., half:2 * half].copy()
        y[..., :half] = x0 * c - x1 * s
        y[..., half:2 * half] = x0 * s + x1 * c
    return y.astype(x.dtype)


def rotary_tables(seqlen_ro, rotary_dim, dtype):
    inv = 10000.0 ** (-np.arange(0, rotary_dim, 2) / rotary_dim)
    angle = np.arange(seqlen_ro)[:, None] * inv[None, :]
    return np.cos(angle).astype(dtype), np.sin(angle).astype(dtype)


class Decode:
    """A random decode call and its numpy model: the caches after the append,
    q rotated, and each sequence's keys packed for the reference."""

    def __init__(self, dtype=np.float32, b=3, h=4, h_k=2, d=32, s_cache=40,
                 cache_seqlens=(5, 0, 21),
                 new=(2, 2, 2), varlen_new=False, q_lens=(2, 2, 2), varlen_q=False, page_size=0,
                 batch_idx=False, leftpad=None, rotary_dim=0, interleaved=True, rotary_seqlens=None,
                 causal=True, seed=0):
        rng = np.random.default_rng(seed)
        self.b, self.h, self.h_k, self.d, self.causal = b, h, h_k, d, causal
        self.lens = np.array(cache_seqlens, np.int32)
        self.new = np.array(new, np.int32)
        self.q_lens = np.array(q_lens, np.int32)
        rows = b + 2 if batch_idx else b
        if page_size:
            pages_per_seq = -(-s_cache // page_size)
            pool = b * pages_per_seq + 2
            ids = rng.permutation(pool)[:b * pages_per_seq]
            self.page_table = ids.reshape(b, pages_per_seq).astype(np.int32)
            shape = (pool, page_size, h_k, d)
        else:
            self.page_table = None
            shape = (rows, s_cache, h_k, d)
        self.page_size = page_size
        self.k_cache = rng.standard_normal(shape).astype(dtype)
        self.v_cache = rng.standard_normal(shape).astype(dtype)
        self.batch_idx = rng.permutation(rows)[:b].astype(np.int32) if batch_idx else None
        self.leftpad = None if leftpad is None else np.array(leftpad, np.int32)
        cu = lambda n: np.concatenate([[0], np.cumsum(n)]).astype(np.int32)  # noqa: E731
        self.cu_new = cu(self.new) if varlen_new else None
        self.k = rng.standard_normal((int(self.new.sum()), h_k, d)).astype(dtype)
        self.v = rng.standard_normal((int(self.new.sum()), h_k, d)).astype(dtype)
        if not varlen_new:
            self.k, self.v = self.k.reshape(b, new[0], h_k, d), self.v.reshape(b, new[0], h_k, d)
        self.cu_q = cu(self.q_lens) if varlen_q else None
        self.q = rng.standard_normal((int(self.q_lens.sum()), h, d)).astype(dtype)
        if not varlen_q:
            self.q = self.q.reshape(b, q_lens[0], h, d)
        self.rotary_dim, self.interleaved = rotary_dim, interleaved
        self.rotary_seqlens = None if rotary_seqlens is None else np.array(rotary_seqlens, np.int32)
        if rotary_dim:
            self.cos, self.sin = rotary_tables(s_cache + 8, rotary_dim, dtype)

    def kwargs(self):
        return dict(k=self.k, v=self.v, cache_seqlens=self.lens, cache_batch_idx=self.batch_idx,
                    cache_leftpad=self.leftpad, page_table=self.page_table, cu_seqlens_q=self.cu_q,
                    cu_seqlens_k_new=self.cu_new, causal=self.causal, return_softmax_lse=True,
                    rotary_cos=self.cos if self.rotary_dim else None,
                    rotary_sin=self.sin if self.rotary_dim else None,
                    rotary_interleaved=self.interleaved, rotary_seqlens=self.rotary_seqlens)

    def _slots(self, b, positions):
        """Indices into the cache of positions of sequence b."""
        if self.page_table is not None:
            return self.page_table[b, positions // self.page_size], positions % self.page_size
        row = self.batch_idx[b] if self.batch_idx is not None else b
        return np.full_like(positions, row), positions

    def expected(self):
        kc, vc = self.k_cache.copy(), self.v_cache.copy()
        q = self.q.copy()
        k_new = self.k.reshape(-1, self.h_k, self.d)
        v_new = self.v.reshape(-1, self.h_k, self.d)
        q_flat = q.reshape(-1, self.h, self.d)
        first_new = np.concatenate([[0], np.cumsum(self.new)])
        first_q = np.concatenate([[0], np.cumsum(self.q_lens)])
        keys_k, keys_v, key_lens = [], [], []
        for b in range(self.b):
            n, base = int(self.new[b]), int(self.lens[b])
            rbase = base if self.rotary_seqlens is None else int(self.rotary_seqlens[b])
            kb = k_new[first_new[b]:first_new[b] + n]
            if self.rotary_dim:
                kb = rotate(kb, self.cos, self.sin, rbase + np.arange(n), self.interleaved)
                rows = slice(first_q[b], first_q[b + 1])
                nq = int(self.q_lens[b])
                pos = rbase + (np.arange(nq) if self.causal else np.zeros(nq, int))
                q_flat[rows] = rotate(q_flat[rows], self.cos, self.sin, pos, self.interleaved)
            page, row = self._slots(b, base + np.arange(n))
            kc[page, row] = kb
            vc[page, row] = v_new[first_new[b]:first_new[b] + n]
            pad = 0 if self.leftpad is None else int(self.leftpad[b])
            page, row = self._slots(b, np.arange(pad, base + n))
            keys_k.append(kc[page, row])
            keys_v.append(vc[page, row])
            key_lens.append(base + n - pad)
        cu_k = np.concatenate([[0], np.cumsum(key_lens)]).astype(np.int32)
        return kc, vc, q, np.concatenate(keys_k), np.concatenate(keys_v), cu_k

    def run_and_check(self, dtype_name="float32"):
        kc_want, vc_want, q_rot, keys_k, keys_v, cu_k = self.expected()
        q_before = self.q.copy()
        out, lse = fa3jit.flash_attn_with_kvcache(self.q, self.k_cache, self.v_cache,
                                                  **self.kwargs())
        np.testing.assert_array_equal(self.k_cache, kc_want)
        np.testing.assert_array_equal(self.v_cache, vc_want)
        np.testing.assert_array_equal(self.q, q_before)  # q itself is never rotated in place
        ref_kwargs = dict(cu_seqlens_q=self.cu_q, cu_seqlens_k=cu_k, causal=self.causal)
        ref = attention(q_rot, keys_k, keys_v, **ref_kwargs)
        plain, _, _ = attention(q_rot, keys_k, keys_v, **ref_kwargs, plain=np.dtype(dtype_name))
        check(out, lse, ref, plain, dtype_name)


@pytest.mark.parametrize("page_size", [0, 1, 16])
def test_append_into_dense_and_paged_caches(page_size):
    Decode(page_size=page_size, seed=page_size).run_and_check()


def test_append_with_cache_batch_idx_and_leftpad():
    Decode(batch_idx=True, leftpad=(3, 0, 10), seed=3).run_and_check()


@pytest.mark.parametrize("interleaved", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_rotary(interleaved, causal):
    Decode(rotary_dim=16, interleaved=interleaved, causal=causal, seed=4).run_and_check()


def test_rotary_seqlens_full_head_float16():
    Decode(dtype=np.float16, rotary_dim=32, rotary_seqlens=(1, 9, 0), page_size=4,
           seed=6).run_and_check("float16")


def test_speculative_varlen_q_and_new_tokens():
    Decode(varlen_q=True, q_lens=(4, 1, 0), varlen_new=True, new=(4, 1, 0), rotary_dim=16,
           seed=7).run_and_check()


def test_int_cache_seqlens_with_append():
    dec = Decode(cache_seqlens=(6, 6, 6), seed=8)
    kc_want, _, _, keys_k, keys_v, cu_k = dec.expected()
    kw = dec.kwargs()
    kw["cache_seqlens"] = 6
    out = fa3jit.flash_attn_with_kvcache(dec.q, dec.k_cache, dec.v_cache, **kw)[0]
    np.testing.assert_array_equal(dec.k_cache, kc_want)
    ref = attention(dec.q, keys_k, keys_v, cu_seqlens_k=cu_k, causal=True)
    plain, _, _ = attention(dec.q, keys_k, keys_v, cu_seqlens_k=cu_k, causal=True, plain=np.float32)
    check(out, None, ref, plain, "float32")


@pytest.mark.parametrize("change, error, message", [
    (dict(scheduler_metadata=np.zeros((4,), np.int32)), NotImplementedError, "scheduler_metadata"),
    (dict(cache_leftpad=np.array([9, 0, 0], np.int32)), ValueError, r"cache_leftpad\[0\] = 9"),
    (dict(cache_batch_idx=np.array([0, 1, 7], np.int32)), ValueError, r"cache_batch_idx\[2\] = 7"),
    (dict(cache_seqlens=np.array([39, 0, 0], np.int32)), ValueError,
     "more than its cache can hold"),
    (dict(v=None), ValueError, "k is given but v is none"),
    (dict(rotary_sin=None), ValueError, "rotary_cos is given but rotary_sin is none"),
    (dict(rotary_cos=np.zeros((48, 8), np.float16), rotary_sin=np.zeros((48, 8), np.float16)),
     TypeError, "rotary_cos must be float32"),
    (dict(cu_seqlens_k_new=np.array([0, 1, 2, 3], np.int32)), ValueError, "cu_seqlens_k_new"),
])
def test_errors_name_the_argument_and_write_nothing(change, error, message):
    dec = Decode(rotary_dim=16, batch_idx=True, seed=9)
    kc, vc = dec.k_cache.copy(), dec.v_cache.copy()
    kw = dec.kwargs()
    kw.update(change)
    with pytest.raises(error, match=message):
        fa3jit.flash_attn_with_kvcache(dec.q, dec.k_cache, dec.v_cache, **kw)
    np.testing.assert_array_equal(dec.k_cache, kc)
    np.testing.assert_array_equal(dec.v_cache, vc)
