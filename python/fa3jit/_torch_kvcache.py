"""flash_attn_with_kvcache as a torch custom op, so that torch.compile
traces a decode step (the fake kernel gives the LSE's shape) and CUDA graphs
capture it. The op mutates k_cache / v_cache (new tokens are appended in
place) and `out` (allocated by the caller, so the op has one form)."""

from typing import Optional

import torch
from torch import Tensor

from . import _torch_ops  # also routes torch tensors (_frameworks.torch_tensor)
from . import kvcache as _kvcache
from ._frameworks import out_dtype_like
from ._shapes import output_shapes


def _lse_shape(q, v_cache, wanted):
    shapes = output_shapes(q, v_cache)
    if shapes is None:
        raise ValueError(f"q must be (total_q, h, d) or (b, s_q, h, d) and v_cache 4-D; got q "
                         f"{tuple(q.shape)}, v_cache {tuple(v_cache.shape)}")
    return shapes[1] if wanted else (0,)


@torch.library.custom_op("fa3jit::flash_attn_with_kvcache",
                         mutates_args=("k_cache", "v_cache", "out"))
def kvcache_op(
    q: Tensor, k_cache: Tensor, v_cache: Tensor, k: Optional[Tensor], v: Optional[Tensor],
    qv: Optional[Tensor], rotary_cos: Optional[Tensor], rotary_sin: Optional[Tensor],
    cache_seqlens: Optional[Tensor], cache_seqlens_int: Optional[int],
    cache_batch_idx: Optional[Tensor], cache_leftpad: Optional[Tensor],
    page_table: Optional[Tensor], cu_seqlens_q: Optional[Tensor],
    cu_seqlens_k_new: Optional[Tensor], max_seqlen_q: Optional[int],
    rotary_seqlens: Optional[Tensor], q_descale: Optional[Tensor], k_descale: Optional[Tensor],
    v_descale: Optional[Tensor], softmax_scale: Optional[float], causal: bool, window_left: int,
    window_right: int, attention_chunk: Optional[int], softcap: float, rotary_interleaved: bool,
    scheduler_metadata: Optional[Tensor], num_splits: int, pack_gqa: Optional[bool], only_qv: bool,
    sm_margin: int, return_softmax_lse: bool, sinks: Optional[Tensor], out: Tensor,
) -> Tensor:
    lse = q.new_empty(_lse_shape(q, v_cache, return_softmax_lse), dtype=torch.float32)
    inputs = _kvcache.kvcache_inputs(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin,
                                     cache_seqlens, cache_batch_idx, cache_leftpad, page_table,
                                     cu_seqlens_q, cu_seqlens_k_new, rotary_seqlens, q_descale,
                                     k_descale, v_descale, sinks)
    options = dict(cache_seqlens_int=cache_seqlens_int, max_seqlen_q=max_seqlen_q,
                   softmax_scale=softmax_scale, causal=causal,
                   window_size=(window_left, window_right), attention_chunk=attention_chunk,
                   softcap=softcap, rotary_interleaved=rotary_interleaved,
                   num_splits=num_splits, pack_gqa=pack_gqa, only_qv=only_qv,
                   sm_margin=sm_margin)
    _kvcache.run_native(inputs, options, scheduler_metadata, return_softmax_lse, out,
                        lse if return_softmax_lse else None)
    return lse


@kvcache_op.register_fake
def _(q, k_cache, v_cache, k, v, qv, rotary_cos, rotary_sin, cache_seqlens, cache_seqlens_int,
      cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q, cu_seqlens_k_new, max_seqlen_q,
      rotary_seqlens, q_descale, k_descale, v_descale, softmax_scale, causal, window_left,
      window_right, attention_chunk, softcap, rotary_interleaved, scheduler_metadata, num_splits,
      pack_gqa, only_qv, sm_margin, return_softmax_lse, sinks, out):
    return q.new_empty(_lse_shape(q, v_cache, return_softmax_lse), dtype=torch.float32)


def kvcache(inputs, options, return_softmax_lse, out, scheduler_metadata=None):
    """flash_attn_with_kvcache for torch tensors: directly in eager mode,
    through the custom op while traced (see _torch_ops.eager_call)."""
    i, o = inputs, options
    q = i["q"]
    if _torch_ops.eager_call(q):
        return _kvcache.run_eager(inputs, options, return_softmax_lse, out, scheduler_metadata)
    if out is None:
        shapes = output_shapes(q, i["v_cache"])
        if shapes is None:
            _lse_shape(q, i["v_cache"], True)  # raises, naming the shapes
        out = torch.empty(shapes[0], dtype=out_dtype_like(q), device=q.device)
    left, right = o["window_size"]
    lse = kvcache_op(q, i["k_cache"], i["v_cache"], i["k"], i["v"], i["qv"], i["rotary_cos"],
                     i["rotary_sin"], i["cache_seqlens"], o["cache_seqlens_int"],
                     i["cache_batch_idx"], i["cache_leftpad"], i["page_table"],
                     i["cu_seqlens_q"], i["cu_seqlens_k_new"], o["max_seqlen_q"],
                     i["rotary_seqlens"], i["q_descale"], i["k_descale"], i["v_descale"],
                     o["softmax_scale"], o["causal"], left, right, o["attention_chunk"],
                     o["softcap"], o["rotary_interleaved"], scheduler_metadata, o["num_splits"],
                     o["pack_gqa"],
                     o["only_qv"], o["sm_margin"], return_softmax_lse, i["sinks"], out)
    return (out, lse) if return_softmax_lse else out


_kvcache.torch_kvcache = kvcache
