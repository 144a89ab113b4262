"""Output shapes of flash_attn_varlen, computed from the input shapes alone
(no data access), for allocation and for torch's fake (meta) kernels."""

from __future__ import annotations


def output_shapes(q, v):
    """(out_shape, lse_shape), or None when q / v have ranks fa3jit rejects
    (C++ validation then names the argument and the rule).

    out: q's shape with v's last dim: (total_q, h, dv) or (b, s_q, h, dv).
    lse: (h, total_q) for varlen q, (b, h, s_q) for 4-D q."""
    q_shape, v_shape = tuple(q.shape), tuple(v.shape)
    if len(v_shape) not in (3, 4):
        return None
    dv = v_shape[-1]
    if len(q_shape) == 3:
        total_q, h, _ = q_shape
        return (total_q, h, dv), (h, total_q)
    if len(q_shape) == 4:
        b, s_q, h, _ = q_shape
        return (b, s_q, h, dv), (b, h, s_q)
    return None
