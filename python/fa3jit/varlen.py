"""fa3jit.flash_attn_varlen_func: sglang's FlashAttention-3 entry point."""

from __future__ import annotations

from . import _native
from ._frameworks import TORCH, framework_of
from ._outputs import allocate_outputs, caller_result, optional, window


# fa3jit._torch_ops.varlen, set when that module loads (at fa3jit import if
# torch was imported first, else at the first call with torch tensors).
torch_varlen = None


def _torch_varlen():
    if torch_varlen is None:
        from . import _torch_ops  # noqa: F401  (registers the ops, sets torch_varlen)
    return torch_varlen


def flash_attn_varlen_func(
    q,
    k,
    v,
    cu_seqlens_q,
    cu_seqlens_k,
    max_seqlen_q=None,
    max_seqlen_k=None,
    seqused_q=None,
    seqused_k=None,
    page_table=None,
    softmax_scale=None,
    causal=False,
    qv=None,
    q_descale=None,
    k_descale=None,
    v_descale=None,
    window_size=(-1, -1),
    attention_chunk=0,
    softcap=0.0,
    num_splits=1,
    pack_gqa=None,
    only_qv=False,
    sm_margin=0,
    return_softmax_lse=False,
    sinks=None,
    out=None,
    workspace=None,
):
    """Variable-length attention forward; returns out, or (out, softmax_lse)
    with return_softmax_lse.

    q (total_q, h, d), k / v (total_k, h_k, d / dv) with int32 cu_seqlens;
    or, with cu_seqlens_q None, 4-D (b, s, h, d) fixed-length batches; or
    paged k / v (num_pages, page_size, h_k, d / dv) with page_table. Arrays
    of torch, cupy, jax or numpy (anything with DLPack); the outputs are
    allocated in q's framework on q's device, and GPU work runs on the
    framework's current stream. softmax_lse is fp32, natural log:
    (h, total_q) for varlen q, (b, h, s_q) for 4-D q. Semantics of every
    argument: the design brief (docs) / fa3jit::VarlenArgs.

    workspace (beyond sglang's signature): split-KV scratch, any dtype,
    contiguous, on q's device, of at least split_workspace_bytes_bound(dv)
    bytes for num_splits = 0 (auto), or num_splits x total_q x h x (dv + 1)
    x 4 for a fixed num_splits; a GPU call that splits then allocates
    nothing. Without it the scratch is allocated on the stream per call.
    Used by eager calls (under torch.compile the op keeps its own scratch).

    Errors: ValueError (bad value or shape), TypeError (bad dtype),
    NotImplementedError (valid but not supported yet), RuntimeError (CUDA /
    NVRTC failure); the message names the argument and the rule, and
    nothing is written to `out`."""
    options = dict(
        cu_seqlens_q=cu_seqlens_q, cu_seqlens_k=cu_seqlens_k,
        max_seqlen_q=optional(int, max_seqlen_q), max_seqlen_k=optional(int, max_seqlen_k),
        seqused_q=seqused_q, seqused_k=seqused_k, page_table=page_table,
        softmax_scale=optional(float, softmax_scale), causal=bool(causal), qv=qv,
        q_descale=q_descale, k_descale=k_descale, v_descale=v_descale,
        window_size=window(window_size), attention_chunk=int(attention_chunk),
        softcap=float(softcap), num_splits=int(num_splits), pack_gqa=pack_gqa,
        only_qv=bool(only_qv), sm_margin=int(sm_margin), sinks=sinks, workspace=workspace)
    if framework_of(q) == TORCH:
        return _torch_varlen()(q, k, v, options, return_softmax_lse, out)
    return varlen_any_framework(q, k, v, options, return_softmax_lse, out)


def varlen_any_framework(q, k, v, options, return_softmax_lse, out):
    """The framework-neutral call: allocate in q's framework, run, return."""
    out, lse = allocate_outputs(q, v, out, return_softmax_lse)
    _native.run(q=q, k=k, v=v, **options, return_softmax_lse=bool(return_softmax_lse),
                out=out, softmax_lse=lse)
    return caller_result(q, out, lse, return_softmax_lse)
