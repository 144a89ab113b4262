"""A numpy model of flash_attn_with_kvcache's append + rotary step, written
from the documented semantics (docs/KVCACHE.md), and random decode calls
checked against it and the float64 attention reference."""

import numpy as np

import fa3jit
from attention_reference import attention, check


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

    def check(self, expected, k_cache, v_cache, out, lse, dtype_name="float32"):
        """A run's caches (exactly) and out / lse (the design's tolerance)
        against `expected` (from expected(), taken before the run)."""
        kc_want, vc_want, q_rot, keys_k, keys_v, cu_k = expected
        np.testing.assert_array_equal(np.asarray(k_cache), kc_want)
        np.testing.assert_array_equal(np.asarray(v_cache), vc_want)
        ref_kwargs = dict(cu_seqlens_q=self.cu_q, cu_seqlens_k=cu_k, causal=self.causal)
        ref = attention(q_rot, keys_k, keys_v, **ref_kwargs)
        plain, _, _ = attention(q_rot, keys_k, keys_v, **ref_kwargs, plain=np.dtype(dtype_name))
        check(out, lse, ref, plain, dtype_name)

    def run_and_check(self, dtype_name="float32"):
        expected = self.expected()
        q_before = self.q.copy()
        out, lse = fa3jit.flash_attn_with_kvcache(self.q, self.k_cache, self.v_cache,
                                                  **self.kwargs())
        np.testing.assert_array_equal(self.q, q_before)  # q itself is never rotated in place
        self.check(expected, self.k_cache, self.v_cache, out, lse, dtype_name)
