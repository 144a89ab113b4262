"""The caller's framework: how to allocate an output like an input, which
stream to run on, and how to hand dtypes that DLPack cannot name to C++.

Frameworks are recognized by the module of the array's type, so none of
them is imported here: fa3jit works with whichever the caller uses."""

from __future__ import annotations

import contextlib
import sys

TORCH, CUPY, NUMPY, JAX, OTHER = "torch", "cupy", "numpy", "jax", "other"

_DLPACK_CPU, _DLPACK_CUDA_HOST = 1, 3


class _TorchNotInUse:
    """Stands for torch.Tensor until fa3jit's torch ops load."""


# torch.Tensor once fa3jit._torch_ops has loaded: an isinstance check that
# torch.compile traces without a graph break.
torch_tensor = _TorchNotInUse


def framework_of(x) -> str:
    if isinstance(x, torch_tensor):
        return TORCH
    root = type(x).__module__.split(".", 1)[0]
    if root == "torch":
        return TORCH
    if root == "cupy":
        return CUPY
    if root == "numpy":
        return NUMPY
    if root in ("jax", "jaxlib"):
        return JAX
    return OTHER


def _on_cpu(x) -> bool:
    dev = getattr(x, "__dlpack_device__", None)
    return dev is None or dev()[0] in (_DLPACK_CPU, _DLPACK_CUDA_HOST)


# ---- dtypes ---------------------------------------------------------------

# str(numpy dtype) costs ~5 us; a call names 5+ dtypes. Dtype objects are
# hashable and few: each is named once. torch dtypes name themselves
# cheaply and stay out of the dict: torch.compile (2.11) cannot trace a
# dict lookup keyed by a dtype.
_DTYPE_NAMES = {}


def _dtype_name(dtype) -> str:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = str(dtype).replace("torch.", "")
        _DTYPE_NAMES[dtype] = name
    return name


def is_fp8(x) -> bool:
    return _dtype_name(x.dtype) == "float8_e4m3fn"


def out_dtype_like(q):
    """The output dtype for input q: q's own, but bfloat16 for fp8 inputs."""
    if not is_fp8(q):
        return q.dtype
    fw = framework_of(q)
    if fw == TORCH:
        return sys.modules["torch"].bfloat16
    import ml_dtypes  # numpy / jax fp8 comes from ml_dtypes

    return ml_dtypes.bfloat16


def float32_like(x):
    fw = framework_of(x)
    if fw == TORCH:
        return sys.modules["torch"].float32
    return "float32"


def dlpack_view(x, name: str):
    """(what C++ imports for x, uint16_is_bf16, uint8_is_fp8).

    numpy has no DLPack code for the ml_dtypes bfloat16 / float8 types, and
    a torch build may lack one for float8: such arrays travel as uint16 /
    uint8 views with a flag that tells C++ what the bits are. torch and cupy
    arrays travel as capsules exported with stream=-1: fa3jit runs on the
    caller's current stream, so the producer must not order them against
    another stream (the default `None` would sync with the legacy default
    stream, which breaks CUDA-graph capture)."""
    if x is None:
        return None, False, False
    fw = framework_of(x)
    name_of_dtype = _dtype_name(x.dtype) if hasattr(x, "dtype") else ""
    as_bf16 = as_fp8 = False
    if fw == TORCH:
        x = x.detach()
        if name_of_dtype == "float8_e4m3fn":
            x, as_fp8 = x.view(sys.modules["torch"].uint8), True
    elif fw == NUMPY and name_of_dtype == "bfloat16":
        x, as_bf16 = x.view("uint16"), True
    elif fw == NUMPY and name_of_dtype == "float8_e4m3fn":
        x, as_fp8 = x.view("uint8"), True
    if fw in (TORCH, CUPY):
        try:
            # torch's to_dlpack exports without any stream ordering, as
            # stream=-1 does, at ~0.5 us against __dlpack__'s ~3.4 per tensor
            x = sys.modules["torch"].utils.dlpack.to_dlpack(x) if fw == TORCH else x.__dlpack__(stream=-1)
        except (BufferError, RuntimeError, TypeError, ValueError) as e:
            raise TypeError(f"{name} cannot be exported through DLPack: {e}") from None
    return x, as_bf16, as_fp8


# ---- allocation -----------------------------------------------------------

def empty_like_framework(like, shape, dtype, what: str):
    """An uninitialized array of `shape` / `dtype` in like's framework, on
    like's device. `what` names the output in errors."""
    shape = tuple(int(s) for s in shape)
    fw = framework_of(like)
    if fw == TORCH:
        torch = sys.modules["torch"]
        return torch.empty(shape, dtype=dtype, device=like.device)
    if fw == CUPY:
        cupy = sys.modules["cupy"]
        with like.device:
            return cupy.empty(shape, dtype=dtype)
    if fw == NUMPY or (fw in (JAX, OTHER) and _on_cpu(like)):
        import numpy

        return numpy.empty(shape, dtype=dtype)
    raise NotImplementedError(
        f"{what}: fa3jit cannot allocate an output for a {type(like).__module__}."
        f"{type(like).__name__} on a GPU; pass torch or cupy arrays, or give `out`")


def full_like_framework(like, shape, value, dtype_name: str):
    """An array of `shape` filled with `value` in like's framework and device."""
    fw = framework_of(like)
    if fw == TORCH:
        torch = sys.modules["torch"]
        return torch.full(shape, value, dtype=getattr(torch, dtype_name), device=like.device)
    if fw == CUPY:
        cupy = sys.modules["cupy"]
        with like.device:
            return cupy.full(shape, value, dtype=dtype_name)
    import numpy

    return numpy.full(shape, value, dtype=dtype_name)


def to_caller_framework(like, result):
    """Frameworks whose arrays are immutable (jax) get their own copy of a
    result that was computed into a numpy buffer."""
    if result is None or framework_of(like) != JAX:
        return result
    import jax.numpy as jnp

    return jnp.asarray(result)


# ---- streams ----------------------------------------------------------------

def device_scope(like):
    """A context that makes like's GPU the current device (a no-op on the CPU)."""
    fw = framework_of(like)
    if fw == TORCH and like.is_cuda:
        return sys.modules["torch"].cuda.device(like.device)
    if fw == CUPY:
        return like.device
    return contextlib.nullcontext()


def stream_and_capture(like):
    """(stream handle for C++, whether that stream is capturing a CUDA graph),
    for the current device (see device_scope)."""
    fw = framework_of(like)
    if fw == TORCH and like.is_cuda:
        torch = sys.modules["torch"]
        return torch.cuda.current_stream().cuda_stream, torch.cuda.is_current_stream_capturing()
    if fw == CUPY:
        s = sys.modules["cupy"].cuda.get_current_stream()
        return s.ptr, bool(s.is_capturing())
    return 0, False
