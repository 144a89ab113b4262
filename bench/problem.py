"""One copy of a shape's inputs as torch tensors, in fa3jit's layouts; every
peer derives its own layout from these (outside the timed region).

Layouts: packed varlen q (total_q, h, d) and k / v (total_k, h_k, d / dv)
with cu_seqlens; decode caches are (b, s_cache, h_k, d) when page_size is 0,
else paged (num_pages, page_size, h_k, d) with a shuffled page table (pages
of a sequence are not adjacent, as in a serving engine's pool)."""

from __future__ import annotations

import dataclasses
from typing import Optional

import torch

from shapes import CACHE_FAMILIES, Shape

TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp8": torch.float8_e4m3fn}


@dataclasses.dataclass
class Problem:
    shape: Shape
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    qv: Optional[torch.Tensor]
    cu_seqlens_q: torch.Tensor  # int32 (b + 1)
    cu_seqlens_k: torch.Tensor  # int32 (b + 1): offsets into packed k / v
    seqused_k: torch.Tensor  # int32 (b): key lengths (decode caches)
    page_table: Optional[torch.Tensor]  # int32 (b, pages per sequence)
    descale: Optional[torch.Tensor]  # fp32 (b, h_k) for fp8, else None

    @property
    def is_cache(self) -> bool:
        """Decode layout (4-D or paged cache) rather than packed k / v."""
        return self.shape.family in CACHE_FAMILIES

    def keys(self, b: int):
        """(k, v) of sequence b as (n, h_k, d / dv) views or gathers."""
        n = self.shape.seqlens_k[b]
        if self.page_table is not None:
            ps = self.shape.page_size
            pages = self.page_table[b, : -(-n // ps)].long()
            k = _gather(self.k, pages).flatten(0, 1)[:n]
            return k, _gather(self.v, pages).flatten(0, 1)[:n]
        if self.is_cache:
            return self.k[b, :n], self.v[b, :n]
        start = int(self.cu_seqlens_k[b])
        return self.k[start:start + n], self.v[start:start + n]


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[index] along dim 0; one-byte (fp8) tensors gather as uint8, which
    every torch build indexes."""
    if x.element_size() == 1:
        return x.view(torch.uint8)[index].view(x.dtype)
    return x[index]


def _offsets(lengths, device):
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    return torch.tensor(cu, dtype=torch.int32, device=device)


def make(shape: Shape, device: str, seed: int = 0) -> Problem:
    """Random N(0, 1) inputs (cast to fp8 for fp8 shapes, with descales of 1
    so that the kernels still take the descale path)."""
    g = torch.Generator(device=device).manual_seed(seed)
    dt = TORCH_DTYPES[shape.dtype]
    gen_dt = torch.bfloat16 if shape.dtype == "fp8" else dt
    b, h, hk, d, dv = shape.batch, shape.heads, shape.kv_heads, shape.d, shape.dv

    def rand(*dims):
        return torch.randn(*dims, generator=g, device=device, dtype=gen_dt).to(dt)

    q = rand(shape.total_q, h, d)
    qv = rand(shape.total_q, h, dv) if shape.qv else None
    page_table = None
    if shape.family in CACHE_FAMILIES and shape.page_size:
        ps = shape.page_size
        per_seq = [-(-n // ps) for n in shape.seqlens_k]
        width = max(per_seq)
        num_pages = sum(per_seq)
        k = rand(num_pages, ps, hk, d)
        v = rand(num_pages, ps, hk, dv)
        perm = torch.randperm(num_pages, generator=g, device=device).to(torch.int32)
        rows, at = [], 0
        for n in per_seq:
            row = perm[at:at + n]
            rows.append(torch.nn.functional.pad(row, (0, width - n)))  # page 0 pads unused slots
            at += n
        page_table = torch.stack(rows)
    elif shape.family in CACHE_FAMILIES:
        k = rand(b, shape.max_k, hk, d)
        v = rand(b, shape.max_k, hk, dv)
    else:
        k = rand(shape.total_k, hk, d)
        v = rand(shape.total_k, hk, dv)
    descale = None
    if shape.dtype == "fp8":
        descale = torch.ones(b, hk, device=device, dtype=torch.float32)
    return Problem(shape, q, k, v, qv, _offsets(shape.seqlens_q, device),
                   _offsets(shape.seqlens_k, device),
                   torch.tensor(shape.seqlens_k, dtype=torch.int32, device=device),
                   page_table, descale)
