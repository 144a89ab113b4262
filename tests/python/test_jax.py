"""jax arrays on the CPU: DLPack in, a jax array out."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import fa3jit  # noqa: E402
from attention_reference import attention, check  # noqa: E402
from problems import Case, build  # noqa: E402


def test_jax_cpu_arrays():
    a, ref_kwargs = build(Case(causal=True))
    cpu = jax.devices("cpu")[0]
    j = {n: jax.device_put(x, cpu) if isinstance(x, np.ndarray) else x for n, x in a.items()}
    out, lse = fa3jit.flash_attn_varlen_func(j["q"], j["k"], j["v"], j["cu_seqlens_q"],
                                             j["cu_seqlens_k"], causal=True,
                                             return_softmax_lse=True)
    assert isinstance(out, jax.Array)
    ref = attention(a["q"], a["k"], a["v"], **ref_kwargs)
    plain, _, _ = attention(a["q"], a["k"], a["v"], **ref_kwargs, plain=np.float32)
    check(np.asarray(out), np.asarray(lse), ref, plain, "float32")
