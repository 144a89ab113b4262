"""fa3jit: variable-length attention forward (FlashAttention-3 class) with
kernels JIT-compiled by NVRTC, a CPU backend, and sglang's FA3 Python API.

    out = fa3jit.flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k,
                                        max_seqlen_q, max_seqlen_k, causal=True)

Arrays of torch, cupy, jax or numpy (DLPack); torch calls go through the
custom op torch.ops.fa3jit.flash_attn_varlen (torch.compile, CUDA graphs)."""

import sys as _sys

from ._fa3jit import DeviceInfo, __version__, best_device, query_devices
from ._native import set_check_metadata
from .devices import explain_support, info, is_fa3_supported, split_workspace_bytes_bound
from .kvcache import flash_attn_with_kvcache, get_scheduler_metadata
from .varlen import flash_attn_varlen_func

if "torch" in _sys.modules:  # register the custom ops now, outside any trace
    from . import _torch_ops  # noqa: F401

__all__ = [
    "DeviceInfo",
    "__version__",
    "best_device",
    "explain_support",
    "flash_attn_varlen_func",
    "flash_attn_with_kvcache",
    "get_scheduler_metadata",
    "info",
    "is_fa3_supported",
    "query_devices",
    "set_check_metadata",
    "split_workspace_bytes_bound",
]
