"""flash_attn_varlen_func on numpy arrays (the CPU backend) against the
numpy float64 reference, with the design's tolerance rule."""

import dataclasses

import numpy as np
import pytest

import fa3jit
from attention_reference import attention, check
from problems import Case, build, ml_dtypes

DTYPES = ["float32", "float16"] + (["bfloat16"] if ml_dtypes is not None else [])

CASES = {
    "varlen": Case(),
    "gqa_8_to_1": Case(h=8, h_k=1),
    "mha": Case(h=3, h_k=3),
    "causal": Case(causal=True),
    "causal_more_q_than_k": Case(causal=True, seqlens_q=(9, 3), seqlens_k=(4, 3)),
    "window": Case(window_size=(3, 2)),
    "causal_window": Case(causal=True, window_size=(4, -1)),
    "chunk": Case(attention_chunk=4, seqlens_q=(6, 11), seqlens_k=(13, 11)),
    "chunk_causal": Case(attention_chunk=5, causal=True, seqlens_q=(6, 11), seqlens_k=(13, 11)),
    "softcap": Case(softcap=2.5),
    "sinks": Case(sinks=True),
    "sinks_causal_empty_rows": Case(sinks=True, causal=True, window_size=(0, 0),
                                    seqlens_q=(5, 3), seqlens_k=(2, 0)),
    "scale": Case(softmax_scale=0.3),
    "seqused": Case(seqused_q=True, seqused_k=True),
    "dv_ne_d": Case(d=32, dv=16),
    "d_8": Case(d=8),
    "d_256": Case(d=256, seqlens_q=(3, 2), seqlens_k=(5, 7)),
    "fixed_4d": Case(fixed=True, seqlens_q=(7, 7), seqlens_k=(10, 10)),
    "fixed_4d_causal": Case(fixed=True, causal=True, seqlens_q=(6, 6, 6), seqlens_k=(9, 9, 9)),
    "paged_1": Case(page_size=1),
    "paged_3": Case(page_size=3, causal=True),
    "paged_16": Case(page_size=16, seqlens_k=(40, 1, 17)),
    "paged_4d_q": Case(page_size=4, fixed=True, seqlens_q=(3, 3), seqlens_k=(10, 10)),
    "mla_qv": Case(qv=True, d=16, dv=32),
    "only_qv": Case(qv=True, only_qv=True, d=16, dv=32),
    "splits": Case(num_splits=3, seqlens_q=(4, 9), seqlens_k=(70, 33)),
    "auto_splits": Case(num_splits=0, seqlens_q=(2,), seqlens_k=(90,)),
    "empty_keys": Case(seqlens_q=(3, 2), seqlens_k=(0, 0)),
    "empty_batch": Case(seqlens_q=(), seqlens_k=()),
}


def run_case(case: Case, **extra):
    a, ref_kwargs = build(case)
    out, lse = fa3jit.flash_attn_varlen_func(
        a["q"], a["k"], a["v"], a["cu_seqlens_q"], a["cu_seqlens_k"],
        max_seqlen_q=a["max_seqlen_q"], max_seqlen_k=a["max_seqlen_k"],
        seqused_q=a["seqused_q"], seqused_k=a["seqused_k"], page_table=a["page_table"],
        softmax_scale=a["softmax_scale"], causal=a["causal"], qv=a["qv"],
        window_size=a["window_size"], attention_chunk=a["attention_chunk"],
        softcap=a["softcap"], num_splits=a["num_splits"], only_qv=a["only_qv"],
        sinks=a["sinks"], q_descale=a["q_descale"], k_descale=a["k_descale"],
        v_descale=a["v_descale"], return_softmax_lse=True, **extra)
    return a, ref_kwargs, out, lse


def reference_and_plain(a, ref_kwargs, dtype):
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=a["q"].dtype)
    return ref, plain


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_float64_reference(name, dtype):
    case = dataclasses.replace(CASES[name], dtype=dtype)
    a, ref_kwargs, out, lse = run_case(case)
    assert type(out) is np.ndarray and type(lse) is np.ndarray
    assert out.shape == a["q"].shape[:-1] + (a["v"].shape[-1],)
    assert out.dtype == a["q"].dtype and lse.dtype == np.float32
    ref, plain = reference_and_plain(a, ref_kwargs, dtype)
    check(out, lse, ref, plain, dtype, softcap=case.softcap)


def test_lse_layouts():
    a, _, out, lse = run_case(Case(seqlens_q=(3, 4), seqlens_k=(5, 6)))
    assert lse.shape == (a["q"].shape[1], 7)  # (h, total_q)
    a, _, out, lse = run_case(Case(fixed=True, seqlens_q=(5, 5, 5), seqlens_k=(6, 6, 6)))
    assert lse.shape == (3, a["q"].shape[2], 5)  # (b, h, s_q)


def test_returns_out_alone_without_lse():
    a, _ = build(Case())
    out = fa3jit.flash_attn_varlen_func(a["q"], a["k"], a["v"], a["cu_seqlens_q"],
                                        a["cu_seqlens_k"])
    assert isinstance(out, np.ndarray)


def test_out_given_is_written_in_place_and_padding_rows_untouched():
    case = Case(seqused_q=True, seed=3)
    a, ref_kwargs = build(case)
    out = np.full(a["q"].shape[:-1] + (a["v"].shape[-1],), np.nan, dtype=np.float32)
    got = fa3jit.flash_attn_varlen_func(
        a["q"], a["k"], a["v"], a["cu_seqlens_q"], a["cu_seqlens_k"],
        seqused_q=a["seqused_q"], out=out)
    assert got is out
    ref, plain = reference_and_plain(a, ref_kwargs, "float32")
    check(out, None, ref, plain, "float32")
    real = ref[2]
    assert np.isnan(out[~real]).all(), "rows past seqused_q must stay untouched"


def test_strided_inputs_from_packed_qkv():
    """q, k, v as views of one packed (tokens, 3, h, d) array: strides, no copies."""
    rng = np.random.default_rng(7)
    qkv = rng.standard_normal((12, 3, 2, 16)).astype(np.float32)
    cu = np.array([0, 5, 12], dtype=np.int32)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    assert not q.flags.c_contiguous
    out, lse = fa3jit.flash_attn_varlen_func(q, k, v, cu, cu, causal=True,
                                             return_softmax_lse=True)
    ref_kwargs = dict(cu_seqlens_q=cu, cu_seqlens_k=cu, causal=True)
    ref = attention(q, k, v, **ref_kwargs)
    plain, _, _ = attention(q, k, v, **ref_kwargs, plain=np.float32)
    check(out, lse, ref, plain, "float32")


def test_split_result_equals_unsplit_within_rounding():
    base = Case(seqlens_q=(3, 5), seqlens_k=(80, 65), seed=11)
    _, _, one, _ = run_case(base)
    _, _, four, _ = run_case(dataclasses.replace(base, num_splits=4))
    np.testing.assert_allclose(four, one, rtol=1e-5, atol=1e-6)


FP8_CASES = {
    "plain": Case(),
    "descale_causal": Case(descale=True, causal=True),
    "descale_paged_gqa": Case(descale=True, page_size=3, h=8, h_k=2),
}


@pytest.mark.skipif(ml_dtypes is None, reason="numpy float8 needs ml_dtypes")
@pytest.mark.parametrize("name", list(FP8_CASES))
def test_fp8_inputs_give_bf16_output(name):
    case = dataclasses.replace(FP8_CASES[name], dtype="float8_e4m3fn")
    a, ref_kwargs, out, lse = run_case(case)
    assert out.dtype == ml_dtypes.bfloat16
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain="bfloat16")
    check(out, lse, ref, plain, "bfloat16", fp8=True)


@pytest.mark.parametrize("pack_gqa", [None, False, True])
def test_scheduling_knobs_do_not_change_results(pack_gqa):
    base = Case(h=8, h_k=2, causal=True, seed=13)
    _, _, want, _ = run_case(base)
    _, _, got, _ = run_case(base, pack_gqa=pack_gqa, sm_margin=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_concurrent_calls_from_threads():
    """The GIL is released while the library works; calls stay independent."""
    import concurrent.futures

    cases = [Case(seed=s, causal=bool(s % 2)) for s in range(6)]
    expected = [run_case(c)[2] for c in cases]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda c: run_case(c)[2], cases))
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_check_metadata_switch():
    """Host metadata is always checked; the switch only matters on GPUs."""
    from fa3jit import _native

    a, _ = build(Case())
    bad = a["cu_seqlens_q"].copy()
    bad[-1] += 100
    try:
        fa3jit.set_check_metadata(False)
        assert _native.check_metadata_enabled() is False
        with pytest.raises(ValueError, match="cu_seqlens_q"):
            fa3jit.flash_attn_varlen_func(a["q"], a["k"], a["v"], bad, a["cu_seqlens_k"])
    finally:
        fa3jit.set_check_metadata(True)
