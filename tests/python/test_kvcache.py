"""flash_attn_with_kvcache: what maps onto varlen attention runs (checked
against the reference); the rest raises NotImplementedError naming it."""

import numpy as np
import pytest

import fa3jit
from attention_reference import attention, check
from problems import Case, build


@pytest.mark.parametrize("name, value", [
    ("k", np.zeros((2, 1, 2, 32), np.float32)),
    ("v", np.zeros((2, 1, 2, 32), np.float32)),
    ("rotary_cos", np.zeros((8, 16), np.float32)),
    ("rotary_sin", np.zeros((8, 16), np.float32)),
    ("rotary_seqlens", np.zeros((2,), np.int32)),
    ("cache_batch_idx", np.zeros((2,), np.int32)),
    ("cache_leftpad", np.zeros((2,), np.int32)),
    ("cu_seqlens_k_new", np.zeros((3,), np.int32)),
    ("scheduler_metadata", np.zeros((4,), np.int32)),
])
def test_unsupported_arguments_raise_naming_them(name, value):
    q = np.zeros((2, 1, 4, 32), np.float32)
    cache = np.zeros((2, 8, 2, 32), np.float32)
    with pytest.raises(NotImplementedError, match=f"not supported yet.*{name}"):
        fa3jit.flash_attn_with_kvcache(q, cache, cache, **{name: value})


def test_every_unsupported_argument_is_named_at_once():
    q = np.zeros((2, 1, 4, 32), np.float32)
    cache = np.zeros((2, 8, 2, 32), np.float32)
    with pytest.raises(NotImplementedError) as info:
        fa3jit.flash_attn_with_kvcache(q, cache, cache, k=cache, rotary_cos=cache)
    assert "k (" in str(info.value) and "rotary_cos" in str(info.value)


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
