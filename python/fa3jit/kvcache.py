"""fa3jit.flash_attn_with_kvcache: sglang's decode entry point.

There is no C++ decode entry point yet. What maps onto varlen attention
runs through flash_attn_varlen_func: the cache is k / v (paged with
page_table, else 4-D (b, s_cache, h_k, d)) and cache_seqlens is seqused_k.
Appending new tokens (k, v), rotary, cache_batch_idx, cache_leftpad and a
precomputed scheduler_metadata need the decode kernels and raise
NotImplementedError naming the argument."""

from __future__ import annotations

from ._frameworks import full_like_framework
from .varlen import flash_attn_varlen_func

# Arguments that need the decode kernels, and why.
_NOT_YET = {
    "k": "appending new keys to the cache",
    "v": "appending new values to the cache",
    "rotary_cos": "in-kernel rotary embedding",
    "rotary_sin": "in-kernel rotary embedding",
    "rotary_seqlens": "in-kernel rotary embedding",
    "cache_batch_idx": "indirect cache batch indices",
    "cache_leftpad": "left-padded caches",
    "cu_seqlens_k_new": "appending new keys to the cache",
    "scheduler_metadata": "a precomputed split plan",
}


def _batch_size(q, cu_seqlens_q) -> int:
    return int(q.shape[0]) if cu_seqlens_q is None else int(cu_seqlens_q.shape[0]) - 1


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
    """Attention of q against a KV cache; returns out, or (out, softmax_lse).

    q: (b, s_q, h, d), or (total_q, h, d) with cu_seqlens_q. k_cache /
    v_cache: paged (num_pages, page_size, h_k, d / dv) with page_table
    (b, max_pages), or (b, s_cache, h_k, d / dv). cache_seqlens: int or
    int32 (b), the number of valid cache tokens per sequence (default: all).
    Masks are bottom-right aligned as in flash_attn_varlen_func.
    rotary_interleaved only matters with rotary, which is not supported yet."""
    given = dict(k=k, v=v, rotary_cos=rotary_cos, rotary_sin=rotary_sin,
                 rotary_seqlens=rotary_seqlens, cache_batch_idx=cache_batch_idx,
                 cache_leftpad=cache_leftpad, cu_seqlens_k_new=cu_seqlens_k_new,
                 scheduler_metadata=scheduler_metadata)
    missing = [f"{name} ({_NOT_YET[name]})" for name, x in given.items() if x is not None]
    if missing:
        raise NotImplementedError(
            "flash_attn_with_kvcache is not supported yet: " + ", ".join(missing) +
            ". Without these arguments it runs, as varlen attention over the cache.")
    if isinstance(cache_seqlens, int):
        cache_seqlens = full_like_framework(q, (_batch_size(q, cu_seqlens_q),), cache_seqlens,
                                            "int32")
    # The key bound, known from shapes alone, so that no metadata must be
    # read back (CUDA-graph capture).
    if page_table is not None:
        max_seqlen_k = int(page_table.shape[1]) * int(k_cache.shape[1])
    else:
        max_seqlen_k = int(k_cache.shape[1]) if len(k_cache.shape) == 4 else None
    if max_seqlen_q is None and cu_seqlens_q is None and len(q.shape) == 4:
        max_seqlen_q = int(q.shape[1])
    return flash_attn_varlen_func(
        q, k_cache, v_cache, cu_seqlens_q, None,
        max_seqlen_q=max_seqlen_q, max_seqlen_k=max_seqlen_k, seqused_k=cache_seqlens,
        page_table=page_table, softmax_scale=softmax_scale, causal=causal, qv=qv,
        q_descale=q_descale, k_descale=k_descale, v_descale=v_descale,
        window_size=window_size,
        attention_chunk=0 if attention_chunk is None else attention_chunk,
        softcap=softcap, num_splits=num_splits, pack_gqa=pack_gqa, only_qv=only_qv,
        sm_margin=sm_margin, return_softmax_lse=return_softmax_lse, sinks=sinks, out=out)
