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
from ._frameworks import TORCH, framework_of
from ._outputs import allocate_outputs, caller_result, optional, window

# Arguments passed to C++ as arrays (None stays None).
_TENSOR_ARGS = ("q", "k_cache", "v_cache", "k", "v", "qv", "rotary_cos", "rotary_sin",
                "cache_seqlens", "cache_batch_idx", "cache_leftpad", "page_table", "cu_seqlens_q",
                "cu_seqlens_k_new", "rotary_seqlens", "q_descale", "k_descale", "v_descale",
                "scheduler_metadata", "sinks", "out", "softmax_lse", "workspace")


# fa3jit._torch_kvcache.kvcache, set when that module loads (at the first
# call with torch tensors): the torch custom op route (torch.compile).
torch_kvcache = None


def _torch_kvcache():
    if torch_kvcache is None:
        from . import _torch_kvcache  # noqa: F401  (registers the op, sets torch_kvcache)
    return torch_kvcache


def kvcache_inputs(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin, cache_seqlens,
                   cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q, cu_seqlens_k_new,
                   rotary_seqlens, q_descale, k_descale, v_descale, sinks):
    """The arrays of a call by name, as run_native takes them (the torch op
    builds them too)."""
    return dict(q=q, k_cache=k_cache, v_cache=v_cache, k=k, v=v, qv=qv, rotary_cos=rotary_cos,
                rotary_sin=rotary_sin, cache_seqlens=cache_seqlens, cache_batch_idx=cache_batch_idx,
                cache_leftpad=cache_leftpad, page_table=page_table, cu_seqlens_q=cu_seqlens_q,
                cu_seqlens_k_new=cu_seqlens_k_new, rotary_seqlens=rotary_seqlens, q_descale=q_descale,
                k_descale=k_descale, v_descale=v_descale, sinks=sinks)


# flash_attn_with_kvcache's parameters that _arguments does not take.
_NOT_ARGUMENTS = ("scheduler_metadata", "return_softmax_lse", "out", "workspace")


def _arguments(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin, cache_seqlens,
               cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q, cu_seqlens_k_new,
               max_seqlen_q, rotary_seqlens, q_descale, k_descale, v_descale, softmax_scale,
               causal, window_size, attention_chunk, softcap, rotary_interleaved, num_splits,
               pack_gqa, only_qv, sm_margin, sinks):
    """(inputs, options): the arrays and the converted options of a call."""
    seqlens_int = None
    if isinstance(cache_seqlens, numbers.Integral) and not isinstance(cache_seqlens, bool):
        seqlens_int, cache_seqlens = int(cache_seqlens), None
    inputs = kvcache_inputs(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin, cache_seqlens,
                            cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q, cu_seqlens_k_new,
                            rotary_seqlens, q_descale, k_descale, v_descale, sinks)
    options = dict(cache_seqlens_int=seqlens_int, max_seqlen_q=optional(int, max_seqlen_q),
                   softmax_scale=optional(float, softmax_scale), causal=bool(causal),
                   window_size=window(window_size),
                   attention_chunk=optional(int, attention_chunk), softcap=float(softcap),
                   rotary_interleaved=bool(rotary_interleaved), num_splits=int(num_splits),
                   pack_gqa=optional(bool, pack_gqa), only_qv=bool(only_qv),
                   sm_margin=int(sm_margin))
    return inputs, options


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
    workspace=None,
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
    pairs (0, 1), (2, 3), ... or halves. scheduler_metadata: a plan from
    get_scheduler_metadata (the call runs its num_splits and pack_gqa
    whatever its lengths). workspace: split-KV scratch, as in
    flash_attn_varlen_func; on a GPU it also holds the step's own scratch
    ahead of the partials (the key lengths after an append, b x 4 bytes, and
    the rotated q, total_q x h x d elements, each rounded up to 256 bytes),
    so the step allocates nothing. Errors as flash_attn_varlen_func: ValueError /
    TypeError / NotImplementedError naming the argument; nothing is written
    on error."""
    inputs, options = _arguments(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin, cache_seqlens,
                                 cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q,
                                 cu_seqlens_k_new, max_seqlen_q, rotary_seqlens, q_descale, k_descale,
                                 v_descale, softmax_scale, causal, window_size, attention_chunk, softcap,
                                 rotary_interleaved, num_splits, pack_gqa, only_qv, sm_margin, sinks)
    options["workspace"] = workspace  # eager calls only (see flash_attn_varlen_func)
    if framework_of(q) == TORCH:
        return _torch_kvcache()(inputs, options, bool(return_softmax_lse), out, scheduler_metadata)
    return run_eager(inputs, options, return_softmax_lse, out, scheduler_metadata)


def run_eager(inputs, options, return_softmax_lse, out, scheduler_metadata=None):
    """The framework-neutral call: allocate in q's framework, run, return."""
    q = inputs["q"]
    out, lse = allocate_outputs(q, inputs["v_cache"], out, return_softmax_lse)
    run_native(inputs, options, scheduler_metadata, bool(return_softmax_lse), out, lse)
    return caller_result(q, out, lse, return_softmax_lse)


def run_native(inputs, options, scheduler_metadata, return_softmax_lse, out, lse):
    """One call of the C++ entry with every output given, on q's device and
    the caller's current stream (check_metadata off while it captures)."""
    _native.call(_fa3jit.flash_attn_with_kvcache, _TENSOR_ARGS,
                 dict(inputs, **options, scheduler_metadata=scheduler_metadata, out=out,
                      softmax_lse=lse, return_softmax_lse=return_softmax_lse))


def get_scheduler_metadata(q, k_cache, v_cache, **kwargs):
    """The split plan flash_attn_with_kvcache(q, k_cache, v_cache, **kwargs)
    would run (num_splits and pack_gqa, from the shapes, the lengths and the
    device), as a host int32 array of 4 words (torch: a CPU tensor; else
    numpy). Pass it as scheduler_metadata to later calls, so that a serving
    loop or a captured CUDA graph keeps one plan. Takes the keyword
    arguments of flash_attn_with_kvcache (out, return_softmax_lse and
    scheduler_metadata aside); checks them as the call would, appends and
    writes nothing. With GPU metadata it may read lengths back (one copy and
    sync): call it outside a captured region. Unlike FlashAttention-3's
    get_scheduler_metadata (batch size, lengths and head counts as numbers),
    it takes the call's own arrays, so the plan is exactly the call's."""
    import inspect

    defaults = {name: param.default
                for name, param in inspect.signature(flash_attn_with_kvcache).parameters.items()
                if name not in _NOT_ARGUMENTS + ("q", "k_cache", "v_cache")}
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise TypeError(f"get_scheduler_metadata() got unexpected keyword arguments {unknown}; "
                        f"it takes those of flash_attn_with_kvcache: {list(defaults)}")
    inputs, options = _arguments(q, k_cache, v_cache, **{**defaults, **kwargs})
    words = _native.call(_fa3jit.flash_attn_with_kvcache, _TENSOR_ARGS,
                         dict(inputs, **options, scheduler_metadata=None, out=None, softmax_lse=None,
                              workspace=None, return_softmax_lse=False, plan_only=True))
    if framework_of(q) == TORCH:
        import torch

        return torch.tensor(list(words), dtype=torch.int32)
    import numpy

    return numpy.array(words, dtype=numpy.int32)
