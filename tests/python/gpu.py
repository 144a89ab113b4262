"""When the GPU tests run: a CUDA device that fa3jit supports (the CPU
always is, so is_fa3_supported() alone would not skip them on a CPU-only
machine)."""

import pytest

import fa3jit

HAS_GPU = fa3jit.is_fa3_supported("cuda")
requires_gpu = pytest.mark.skipif(not HAS_GPU, reason=fa3jit.explain_support("cuda"))
