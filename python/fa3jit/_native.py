"""One call of the C++ flash_attn_varlen with every output given: dtype
views, the caller's stream, and whether metadata may be read back."""

from __future__ import annotations

import os

from . import _fa3jit
from ._frameworks import device_scope, dlpack_view, stream_and_capture

# Reading cu_seqlens / seqused / page_table back to check them costs a
# device-to-host copy and a sync per call on a GPU. Serving loops turn it off
# (set_check_metadata(False) or FA3JIT_CHECK_METADATA=0); CUDA-graph capture
# turns it off by itself, since capture forbids the sync.
_check_metadata = os.environ.get("FA3JIT_CHECK_METADATA", "1") not in ("0", "false", "False", "")


def set_check_metadata(enabled: bool) -> None:
    """Whether GPU calls read the int32 metadata back to validate it (default
    on, or FA3JIT_CHECK_METADATA). Off, the kernels trust it, and
    max_seqlen_q / max_seqlen_k must be given."""
    global _check_metadata
    _check_metadata = bool(enabled)


def check_metadata_enabled() -> bool:
    return _check_metadata


_TENSOR_ARGS = ("q", "k", "v", "cu_seqlens_q", "cu_seqlens_k", "seqused_q", "seqused_k",
                "page_table", "qv", "q_descale", "k_descale", "v_descale", "sinks",
                "out", "softmax_lse", "workspace")


def run(**kwargs) -> None:
    """kwargs: every argument of _fa3jit.flash_attn_varlen except stream,
    check_metadata, path and the storage flags, which call() derives."""
    call(_fa3jit.flash_attn_varlen, _TENSOR_ARGS, kwargs)


def call(entry, tensor_names, kwargs):
    """entry (a function of _fa3jit) with kwargs, the arrays named in
    tensor_names as DLPack views, on q's device and the caller's current
    stream, check_metadata off while that stream captures, and the path
    "auto" (the tensors' device picks it). Returns what entry returns."""
    q = kwargs["q"]
    with device_scope(q):  # torch exports CUDA tensors of the current device only
        stream, capturing = stream_and_capture(q)
        uint16_is_bf16 = uint8_is_fp8 = False
        for name in tensor_names:
            x = kwargs.get(name)
            if x is None:  # most optional arrays are absent: skip the call (~0.2 us each, 10+ a call)
                kwargs[name] = None
                continue
            kwargs[name], as_bf16, as_fp8 = dlpack_view(x, name)
            uint16_is_bf16 |= as_bf16
            uint8_is_fp8 |= as_fp8
        return entry(
            **kwargs,
            stream=stream,
            check_metadata=_check_metadata and not capturing,
            path="auto",
            uint16_is_bf16=uint16_is_bf16,
            uint8_is_fp8=uint8_is_fp8,
        )
