"""fa3jit as torch custom ops, so that torch.compile traces a call (the fake
kernels give the output shapes) and CUDA graphs capture it. Registered from
Python, on first import of this module: the extension links no libtorch, so
one build serves every torch version."""

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _frameworks, _native
from . import varlen as _varlen
from ._frameworks import out_dtype_like
from ._shapes import output_shapes


def _shapes_or_raise(q, v):
    shapes = output_shapes(q, v)
    if shapes is None:
        raise ValueError(
            f"q must be (total_q, h, d) or (b, s_q, h, d) and v (total_k, h_k, dv), "
            f"(b, s_k, h_k, dv) or (num_pages, page_size, h_k, dv); got q {tuple(q.shape)}, "
            f"v {tuple(v.shape)}")
    return shapes


def _empty_lse(q, lse_shape, wanted: bool) -> Tensor:
    return q.new_empty(lse_shape if wanted else (0,), dtype=torch.float32)


# The op's arguments after q, k, v (and before out in the out= variant),
# with window_size as two ints: custom ops take no tuples of ints.
def _run(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, seqused_q, seqused_k,
         page_table, softmax_scale, causal, qv, q_descale, k_descale, v_descale, window_left,
         window_right, attention_chunk, softcap, num_splits, pack_gqa, only_qv, sm_margin,
         return_softmax_lse, sinks, out, lse):
    _native.run(q=q, k=k, v=v, cu_seqlens_q=cu_seqlens_q, cu_seqlens_k=cu_seqlens_k,
                max_seqlen_q=max_seqlen_q, max_seqlen_k=max_seqlen_k, seqused_q=seqused_q,
                seqused_k=seqused_k, page_table=page_table, softmax_scale=softmax_scale,
                causal=causal, qv=qv, q_descale=q_descale, k_descale=k_descale,
                v_descale=v_descale, window_size=(window_left, window_right),
                attention_chunk=attention_chunk, softcap=softcap, num_splits=num_splits,
                pack_gqa=pack_gqa, only_qv=only_qv, sm_margin=sm_margin,
                return_softmax_lse=return_softmax_lse, sinks=sinks, out=out,
                softmax_lse=lse if return_softmax_lse else None)


@torch.library.custom_op("fa3jit::flash_attn_varlen", mutates_args=())
def flash_attn_varlen_op(
    q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Optional[Tensor],
    cu_seqlens_k: Optional[Tensor], max_seqlen_q: Optional[int], max_seqlen_k: Optional[int],
    seqused_q: Optional[Tensor], seqused_k: Optional[Tensor], page_table: Optional[Tensor],
    softmax_scale: Optional[float], causal: bool, qv: Optional[Tensor],
    q_descale: Optional[Tensor], k_descale: Optional[Tensor], v_descale: Optional[Tensor],
    window_left: int, window_right: int, attention_chunk: int, softcap: float,
    num_splits: int, pack_gqa: Optional[bool], only_qv: bool, sm_margin: int,
    return_softmax_lse: bool, sinks: Optional[Tensor],
) -> Tuple[Tensor, Tensor]:
    out_shape, lse_shape = _shapes_or_raise(q, v)
    out = torch.empty(out_shape, dtype=out_dtype_like(q), device=q.device)
    lse = _empty_lse(q, lse_shape, return_softmax_lse)
    _run(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, seqused_q, seqused_k,
         page_table, softmax_scale, causal, qv, q_descale, k_descale, v_descale, window_left,
         window_right, attention_chunk, softcap, num_splits, pack_gqa, only_qv, sm_margin,
         return_softmax_lse, sinks, out, lse)
    return out, lse


@flash_attn_varlen_op.register_fake
def _(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, seqused_q, seqused_k,
      page_table, softmax_scale, causal, qv, q_descale, k_descale, v_descale, window_left,
      window_right, attention_chunk, softcap, num_splits, pack_gqa, only_qv, sm_margin,
      return_softmax_lse, sinks):
    out_shape, lse_shape = _shapes_or_raise(q, v)
    return (q.new_empty(out_shape, dtype=out_dtype_like(q)),
            _empty_lse(q, lse_shape, return_softmax_lse))


@torch.library.custom_op("fa3jit::flash_attn_varlen_out", mutates_args=("out",))
def flash_attn_varlen_out_op(
    q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Optional[Tensor],
    cu_seqlens_k: Optional[Tensor], max_seqlen_q: Optional[int], max_seqlen_k: Optional[int],
    seqused_q: Optional[Tensor], seqused_k: Optional[Tensor], page_table: Optional[Tensor],
    softmax_scale: Optional[float], causal: bool, qv: Optional[Tensor],
    q_descale: Optional[Tensor], k_descale: Optional[Tensor], v_descale: Optional[Tensor],
    window_left: int, window_right: int, attention_chunk: int, softcap: float,
    num_splits: int, pack_gqa: Optional[bool], only_qv: bool, sm_margin: int,
    return_softmax_lse: bool, sinks: Optional[Tensor], out: Tensor,
) -> Tensor:
    _, lse_shape = _shapes_or_raise(q, v)
    lse = _empty_lse(q, lse_shape, return_softmax_lse)
    _run(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, seqused_q, seqused_k,
         page_table, softmax_scale, causal, qv, q_descale, k_descale, v_descale, window_left,
         window_right, attention_chunk, softcap, num_splits, pack_gqa, only_qv, sm_margin,
         return_softmax_lse, sinks, out, lse)
    return lse


@flash_attn_varlen_out_op.register_fake
def _(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, seqused_q, seqused_k,
      page_table, softmax_scale, causal, qv, q_descale, k_descale, v_descale, window_left,
      window_right, attention_chunk, softcap, num_splits, pack_gqa, only_qv, sm_margin,
      return_softmax_lse, sinks, out):
    _, lse_shape = _shapes_or_raise(q, v)
    return _empty_lse(q, lse_shape, return_softmax_lse)


def eager_call(q) -> bool:
    """Whether a torch call may skip the custom op: plain tensors outside
    torch.compile / export tracing. They call C++ directly (the same kernels
    and checks, without the op dispatcher's per-call cost and first-use
    set-up); traced calls and tensor subclasses (fake, functional) take the
    op, which is what a trace records."""
    return not torch.compiler.is_compiling() and type(q) is torch.Tensor


def varlen(q, k, v, options, return_softmax_lse, out):
    """flash_attn_varlen_func for torch tensors: directly in eager mode,
    through the custom ops while traced."""
    if eager_call(q):
        return _varlen.varlen_any_framework(q, k, v, options, return_softmax_lse, out)
    o = options
    left, right = o["window_size"]
    args = (q, k, v, o["cu_seqlens_q"], o["cu_seqlens_k"], o["max_seqlen_q"], o["max_seqlen_k"],
            o["seqused_q"], o["seqused_k"], o["page_table"], o["softmax_scale"], o["causal"],
            o["qv"], o["q_descale"], o["k_descale"], o["v_descale"], left, right,
            o["attention_chunk"], o["softcap"], o["num_splits"], o["pack_gqa"], o["only_qv"],
            o["sm_margin"], bool(return_softmax_lse), o["sinks"])
    if out is None:
        out, lse = flash_attn_varlen_op(*args)
    else:
        lse = flash_attn_varlen_out_op(*args, out)
    return (out, lse) if return_softmax_lse else out


# Route torch tensors here from now on (see _frameworks.torch_tensor).
_frameworks.torch_tensor = torch.Tensor
_varlen.torch_varlen = varlen
