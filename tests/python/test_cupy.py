"""cupy arrays on a supported GPU: output in cupy, the current stream,
CUDA-graph capture through cupy's stream capture."""

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

import fa3jit  # noqa: E402
from attention_reference import attention, check  # noqa: E402
from gpu import requires_gpu  # noqa: E402
from problems import Case, build  # noqa: E402

pytestmark = requires_gpu

CASE = Case(dtype="float16", h=8, h_k=2, d=64, causal=True, seqlens_q=(20, 0, 33),
            seqlens_k=(41, 3, 33))


def to_cupy(a):
    return {n: cupy.asarray(x) if isinstance(x, np.ndarray) else x for n, x in a.items()}


def call(c, **extra):
    return fa3jit.flash_attn_varlen_func(
        c["q"], c["k"], c["v"], c["cu_seqlens_q"], c["cu_seqlens_k"],
        max_seqlen_q=c["max_seqlen_q"], max_seqlen_k=c["max_seqlen_k"], causal=c["causal"],
        **extra)


def check_cupy(a, ref_kwargs, out, lse):
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=np.float16)
    check(cupy.asnumpy(out), None if lse is None else cupy.asnumpy(lse), ref, plain, "float16")


def test_cupy_matches_reference_on_a_side_stream():
    a, ref_kwargs = build(CASE)
    c = to_cupy(a)
    with cupy.cuda.Stream(non_blocking=True) as s:
        out, lse = call(c, return_softmax_lse=True)
        s.synchronize()
    assert isinstance(out, cupy.ndarray) and out.dtype == np.float16
    check_cupy(a, ref_kwargs, out, lse)


def test_cupy_graph_capture():
    a, ref_kwargs = build(CASE)
    c = to_cupy(a)
    call(c)  # warm up (JIT compile) outside capture
    s = cupy.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        out = call(c)
        graph = s.end_capture()
    a["q"] = np.random.default_rng(4).standard_normal(a["q"].shape).astype(np.float16)
    c["q"][...] = cupy.asarray(a["q"])
    cupy.cuda.Device().synchronize()
    graph.launch(s)
    s.synchronize()
    check_cupy(a, ref_kwargs, out, None)
