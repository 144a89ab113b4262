"""The Python entry points have sglang's FA3 names, order and defaults, so
fa3jit is a drop-in; fa3jit's own keywords (workspace) come after them."""

import inspect

import fa3jit

VARLEN = [
    ("q", inspect.Parameter.empty), ("k", inspect.Parameter.empty),
    ("v", inspect.Parameter.empty), ("cu_seqlens_q", inspect.Parameter.empty),
    ("cu_seqlens_k", inspect.Parameter.empty), ("max_seqlen_q", None), ("max_seqlen_k", None),
    ("seqused_q", None), ("seqused_k", None), ("page_table", None), ("softmax_scale", None),
    ("causal", False), ("qv", None), ("q_descale", None), ("k_descale", None),
    ("v_descale", None), ("window_size", (-1, -1)), ("attention_chunk", 0), ("softcap", 0.0),
    ("num_splits", 1), ("pack_gqa", None), ("only_qv", False), ("sm_margin", 0),
    ("return_softmax_lse", False), ("sinks", None), ("out", None),
]

KVCACHE = [
    ("q", inspect.Parameter.empty), ("k_cache", inspect.Parameter.empty),
    ("v_cache", inspect.Parameter.empty), ("k", None), ("v", None), ("qv", None),
    ("rotary_cos", None), ("rotary_sin", None), ("cache_seqlens", None),
    ("cache_batch_idx", None), ("cache_leftpad", None), ("page_table", None),
    ("cu_seqlens_q", None), ("cu_seqlens_k_new", None), ("max_seqlen_q", None),
    ("rotary_seqlens", None), ("q_descale", None), ("k_descale", None), ("v_descale", None),
    ("softmax_scale", None), ("causal", False), ("window_size", (-1, -1)),
    ("attention_chunk", None), ("softcap", 0.0), ("rotary_interleaved", True),
    ("scheduler_metadata", None), ("num_splits", 0), ("pack_gqa", None), ("only_qv", False),
    ("sm_margin", 0), ("return_softmax_lse", False), ("sinks", None), ("out", None),
]


def params(fn):
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, p.name
    return [(p.name, p.default) for p in sig.parameters.values()]


EXTENSIONS = [("workspace", None)]


def test_flash_attn_varlen_func_signature():
    assert params(fa3jit.flash_attn_varlen_func) == VARLEN + EXTENSIONS


def test_flash_attn_with_kvcache_signature():
    assert params(fa3jit.flash_attn_with_kvcache) == KVCACHE + EXTENSIONS


def test_public_names():
    for name in ("flash_attn_varlen_func", "flash_attn_with_kvcache", "is_fa3_supported",
                 "explain_support", "info", "DeviceInfo", "query_devices", "__version__"):
        assert hasattr(fa3jit, name), name
