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
from kvcache_model import Decode
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


def test_scheduler_metadata_fixes_the_plan():
    case, a, ref_kwargs, q4 = decode_problem(4, True, s_q=2)
    kw = dict(cache_seqlens=a["seqused_k"], page_table=a["page_table"], causal=True)
    plan = fa3jit.get_scheduler_metadata(q4, a["k"], a["v"], **kw)
    assert plan.dtype == np.int32 and plan.shape == (4,)
    assert plan[2] >= 1 and plan[3] in (0, 1)
    forced = plan.copy()
    forced[2] = 2
    out, lse = fa3jit.flash_attn_with_kvcache(q4, a["k"], a["v"], **kw, scheduler_metadata=forced,
                                              return_softmax_lse=True)
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=np.float32)
    check(out.reshape(a["q"].shape[:-1] + (-1,)), lse.transpose(1, 0, 2).reshape(case.h, -1), ref, plain,
          "float32")
    with pytest.raises(ValueError, match=r"num_splits = 3 disagrees with scheduler_metadata's plan"):
        fa3jit.flash_attn_with_kvcache(q4, a["k"], a["v"], **kw, scheduler_metadata=forced, num_splits=3)
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        fa3jit.get_scheduler_metadata(q4, a["k"], a["v"], out=None)


def test_scheduler_metadata_of_torch_inputs_is_a_cpu_tensor():
    torch = pytest.importorskip("torch")
    case, a, ref_kwargs, q4 = decode_problem(4, False)
    plan = fa3jit.get_scheduler_metadata(torch.from_numpy(q4), torch.from_numpy(a["k"]),
                                         torch.from_numpy(a["v"]),
                                         cache_seqlens=torch.from_numpy(a["seqused_k"]),
                                         page_table=torch.from_numpy(a["page_table"]))
    assert plan.dtype == torch.int32 and tuple(plan.shape) == (4,) and plan.device.type == "cpu"


@pytest.mark.parametrize("change, error, message", [
    (dict(scheduler_metadata=np.zeros((4,), np.int32)), ValueError,
     "scheduler_metadata is not a plan of get_scheduler_metadata"),
    (dict(scheduler_metadata=np.zeros((4,), np.float32)), TypeError, "scheduler_metadata must be int32"),
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
