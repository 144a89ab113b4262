"""fa3jit.flash_attn_with_kvcache: sglang's FlashAttention-3 decode entry
point, on the C++ fa3jit::flash_attn_with_kvcache.

New tokens k / v are written into k_cache / v_cache in place (at
cache_seqlens[b] + j), with rotary on them and on q when rotary_cos /
rotary_sin are given, then q attends over each sequence's keys
[cache_leftpad[b], cache_seqlens[b] + new tokens). cache_seqlens counts the
left padding too (FlashAttention-3's convention)."""

from __future__ import annotations

import numbers

from . import _fa3jit, _native
from ._frameworks import (
    TORCH,
    device_scope,
    dlpack_view,
    empty_like_framework,
    float32_like,
    framework_of,
    out_dtype_like,
    stream_and_capture,
    to_caller_framework,
)
from ._shapes import output_shapes

# Arguments passed to C++ as arrays (None stays None).
_TENSOR_ARGS = ("q", "k_cache", "v_cache", "k", "v", "qv", "rotary_cos", "rotary_sin",
                "cache_seqlens", "cache_batch_idx", "cache_leftpad", "page_table", "cu_seqlens_q",
                "cu_seqlens_k_new", "rotary_seqlens", "q_descale", "k_descale", "v_descale",
                "scheduler_metadata", "sinks", "out", "softmax_lse")


# fa3jit._torch_kvcache.kvcache, set when that module loads (at the first
# call with torch tensors): the torch custom op route (torch.compile).
torch_kvcache = None


def _torch_kvcache():
    if torch_kvcache is None:
        from . import _torch_kvcache  # noqa: F401  (registers the op, sets torch_kvcache)
    return torch_kvcache


def _optional(kind, x):
    return None if x is None else kind(x)


def flash_attn_with_kvcache(
    q,
    k_cache,
    v_cache,
    k=None,
    v=None,
    qv=None,
    rotary_cos=None,
    rotary_sin=None,
    cache_seqlens=None,
    cache_batch_idx=None,
    cache_leftpad=None,
    page_table=None,
    cu_seqlens_q=None,
    cu_seqlens_k_new=None,
    max_seqlen_q=None,
    rotary_seqlens=None,
    q_descale=None,
    k_descale=None,
    v_descale=None,
    softmax_scale=None,
    causal=False,
    window_size=(-1, -1),
    attention_chunk=None,
    softcap=0.0,
    rotary_interleaved=True,
    scheduler_metadata=None,
    num_splits=0,
    pack_gqa=None,
    only_qv=False,
    sm_margin=0,
    return_softmax_lse=False,
    sinks=None,
    out=None,
):
    """Attention of q against a KV cache, after appending k / v into it;
    returns out, or (out, softmax_lse).

    q: (b, s_q, h, d), or (total_q, h, d) with cu_seqlens_q. k_cache /
    v_cache: (b_cache, s_cache, h_k, d / dv), or paged (num_pages, page_size,
    h_k, d / dv) with page_table (b, max_pages). k / v: (b, s_new, h_k, d /
    dv), or (total_new, h_k, d / dv) with cu_seqlens_k_new. cache_seqlens:
    int or int32 (b), tokens already in the cache (default: the whole row).
    cache_batch_idx (int32 (b)): the cache row of sequence b. rotary_cos /
    rotary_sin: (seqlen_ro, rotary_dim / 2) in q's dtype; new key j sits at
    position rotary_seqlens[b] (default cache_seqlens[b]) + j, query i at that
    base + i when causal or local, else at the base; rotary_interleaved picks
    pairs (0, 1), (2, 3), ... or halves. scheduler_metadata must be None (no
    precomputed plans: a fixed num_splits > 0 keeps CUDA-graph replays on one
    plan). Errors as flash_attn_varlen_func: ValueError / TypeError /
    NotImplementedError naming the argument; nothing is written on error."""
    seqlens_int = None
    if isinstance(cache_seqlens, numbers.Integral) and not isinstance(cache_seqlens, bool):
        seqlens_int, cache_seqlens = int(cache_seqlens), None
    inputs = dict(q=q, k_cache=k_cache, v_cache=v_cache, k=k, v=v, qv=qv, rotary_cos=rotary_cos,
                  rotary_sin=rotary_sin, cache_seqlens=cache_seqlens,
                  cache_batch_idx=cache_batch_idx, cache_leftpad=cache_leftpad,
                  page_table=page_table, cu_seqlens_q=cu_seqlens_q,
                  cu_seqlens_k_new=cu_seqlens_k_new, rotary_seqlens=rotary_seqlens,
                  q_descale=q_descale, k_descale=k_descale, v_descale=v_descale, sinks=sinks)
    left, right = window_size
    options = dict(cache_seqlens_int=seqlens_int, max_seqlen_q=_optional(int, max_seqlen_q),
                   softmax_scale=_optional(float, softmax_scale), causal=bool(causal),
                   window_size=(int(left), int(right)),
                   attention_chunk=_optional(int, attention_chunk), softcap=float(softcap),
                   rotary_interleaved=bool(rotary_interleaved), num_splits=int(num_splits),
                   pack_gqa=_optional(bool, pack_gqa), only_qv=bool(only_qv),
                   sm_margin=int(sm_margin))
    if framework_of(q) == TORCH and scheduler_metadata is None:
        return _torch_kvcache()(inputs, options, bool(return_softmax_lse), out)
    lse = None
    shapes = output_shapes(q, v_cache) if q is not None and v_cache is not None else None
    if shapes is not None:  # else C++ names the argument with the bad rank
        out_shape, lse_shape = shapes
        if out is None:
            out = empty_like_framework(q, out_shape, out_dtype_like(q), "out")
        if return_softmax_lse:
            lse = empty_like_framework(q, lse_shape, float32_like(q), "softmax_lse")
    run_native(inputs, options, scheduler_metadata, bool(return_softmax_lse), out, lse)
    out = to_caller_framework(q, out)
    if return_softmax_lse:
        return out, to_caller_framework(q, lse)
    return out


def run_native(inputs, options, scheduler_metadata, return_softmax_lse, out, lse):
    """One call of the C++ entry with every output given, on q's device and
    the caller's current stream (check_metadata off while it captures)."""
    arrays = dict(inputs, scheduler_metadata=scheduler_metadata, out=out, softmax_lse=lse)
    q = inputs["q"]
    with device_scope(q):  # torch exports CUDA tensors of the current device only
        stream, capturing = stream_and_capture(q)
        uint16_is_bf16 = uint8_is_fp8 = False
        for name in _TENSOR_ARGS:
            arrays[name], as_bf16, as_fp8 = dlpack_view(arrays[name], name)
            uint16_is_bf16 |= as_bf16
            uint8_is_fp8 |= as_fp8
        _fa3jit.flash_attn_with_kvcache(
            **arrays,
            **options,
            return_softmax_lse=return_softmax_lse,
            stream=stream,
            check_metadata=_native.check_metadata_enabled() and not capturing,
            path="auto",
            uint16_is_bf16=uint16_is_bf16,
            uint8_is_fp8=uint8_is_fp8,
        )
