"""What flash_attn_varlen_func and flash_attn_with_kvcache share outside
torch's custom ops: argument coercion, allocating the outputs in q's
framework, and handing them back in the caller's framework."""

from __future__ import annotations

from ._frameworks import empty_like_framework, float32_like, out_dtype_like, to_caller_framework
from ._shapes import output_shapes


def optional(kind, x):
    """Plain Python numbers (numpy / torch scalars are common here) or None."""
    return None if x is None else kind(x)


def window(window_size):
    """(left, right) as plain ints."""
    left, right = window_size
    return (int(left), int(right))


def allocate_outputs(q, v, out, return_softmax_lse):
    """(out, lse): out as given or allocated, lse allocated when wanted (else
    None). With q / v None or of a rank fa3jit rejects nothing is allocated:
    C++ validation then names the argument with the bad rank."""
    shapes = output_shapes(q, v) if q is not None and v is not None else None
    lse = None
    if shapes is not None:
        out_shape, lse_shape = shapes
        if out is None:
            out = empty_like_framework(q, out_shape, out_dtype_like(q), "out")
        if return_softmax_lse:
            lse = empty_like_framework(q, lse_shape, float32_like(q), "softmax_lse")
    return out, lse


def caller_result(q, out, lse, return_softmax_lse):
    """out, or (out, lse), in q's framework."""
    out = to_caller_framework(q, out)
    if return_softmax_lse:
        return out, to_caller_framework(q, lse)
    return out
