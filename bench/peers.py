"""The implementations compared, each behind one small adapter: fa3jit,
PyTorch SDPA with one backend forced (CUDNN_ATTENTION, FLASH_ATTENTION,
EFFICIENT_ATTENTION: no silent fallback to another kernel), FlashAttention-4
(flash_attn.cute) and FlashInfer where installed.

A peer says why it cannot run at all (`why_not`, e.g. not installed), or
why it does not take a shape (`unsupported`); everything else it tries, and
the suite records any exception as the reason. prepare() builds the peer's
own layout of the inputs outside the timed region and returns a Runner."""

from __future__ import annotations

import dataclasses
import importlib
import re
import warnings
from typing import Any, Callable, Optional

import torch

from problem import Problem
from shapes import CACHE_FAMILIES, Shape

FLASHINFER_WORKSPACE_BYTES = 256 << 20
NOT_CARRIED = ("Its wheels are too large to carry to the offline GPU machine "
               "(see docs/BENCHMARKS.md, Peers)")


@dataclasses.dataclass
class Runner:
    run: Callable[[], Any]  # the timed call
    packed: Callable[[Any], torch.Tensor]  # its output as (total_q, h, dv)
    first: Optional[Callable[[], Any]] = None  # the checked call (default: run)
    note: str = ""  # how the peer was called, where a reader needs it (kept in the row)


def _version(module_name: str, dist_names=()) -> str:
    from importlib import metadata
    for name in dist_names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    mod = importlib.import_module(module_name)
    return str(getattr(mod, "__version__", "unknown"))


class Peer:
    name = ""

    def __init__(self):
        self.why_not = self._probe()

    def _probe(self) -> Optional[str]:
        return None

    def version(self) -> str:
        return ""

    def unsupported(self, shape: Shape) -> Optional[str]:
        return None

    def prepare(self, p: Problem) -> Runner:
        raise NotImplementedError(f"peer {self.name} has no prepare()")


# ---- fa3jit ----------------------------------------------------------------

class Fa3jit(Peer):
    name = "fa3jit"

    def _probe(self):
        try:
            importlib.import_module("fa3jit")
        except ImportError as e:
            return f"the fa3jit Python package is not importable ({e})"
        return None

    def version(self):
        return _version("fa3jit")

    def prepare(self, p):
        import fa3jit
        s = p.shape
        fp8 = dict(q_descale=p.descale, k_descale=p.descale, v_descale=p.descale)
        if p.is_cache:
            q = p.q.view(s.batch, s.max_q, s.heads, s.d)
            qv = None if p.qv is None else p.qv.view(s.batch, s.max_q, s.heads, s.dv)
            # A serving loop's setting: one split-KV workspace sized once
            # for auto splits, so a step allocates nothing.
            ws_bytes = fa3jit.split_workspace_bytes_bound(s.dv, str(p.q.device))
            ws = torch.empty((ws_bytes + 3) // 4, dtype=torch.float32, device=p.q.device)

            def call():
                return fa3jit.flash_attn_with_kvcache(
                    q, p.k, p.v, qv=qv, cache_seqlens=p.seqused_k, page_table=p.page_table,
                    softmax_scale=s.softmax_scale, causal=s.causal, num_splits=0, workspace=ws, **fp8)
        else:
            def call():
                return fa3jit.flash_attn_varlen_func(
                    p.q, p.k, p.v, p.cu_seqlens_q, p.cu_seqlens_k, s.max_q, s.max_k,
                    softmax_scale=s.softmax_scale, causal=s.causal, qv=p.qv, **fp8)

        def checked():
            # The checked call validates cu_seqlens / page_table on the host;
            # timed calls trust them (a serving loop's setting: no sync).
            fa3jit.set_check_metadata(True)
            try:
                return call()
            finally:
                fa3jit.set_check_metadata(False)

        return Runner(call, lambda o: o.reshape(s.total_q, s.heads, s.dv), checked)


# ---- PyTorch SDPA ------------------------------------------------------------

def _bhsd(x: torch.Tensor, b: int, s: int) -> torch.Tensor:
    """(b * s, h, d) or (b, s, h, d) -> contiguous (b, h, s, d), SDPA's own layout."""
    return x.reshape(b, s, x.shape[-2], x.shape[-1]).transpose(1, 2).contiguous()


def _with_warnings(fn):
    """Call fn; if it raises, add the warnings it gave (SDPA says there why a
    backend refused the inputs) to the message."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            return fn()
        except RuntimeError as e:
            said = [re.sub(r"\s*\(Triggered internally at [^)]*\)\.?", "", str(w.message))
                    for w in seen]
            why = "; ".join(" ".join(m.split()) for m in said if m.strip())
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise RuntimeError(first + (f" ({why})" if why else "")) from e


class Sdpa(Peer):
    def __init__(self, name: str, backend: str):
        self.name, self.backend_name = name, backend
        super().__init__()

    def _probe(self):
        try:
            from torch.nn.attention import SDPBackend
        except ImportError as e:
            return f"torch.nn.attention is missing ({e})"
        self.backend = getattr(SDPBackend, self.backend_name, None)
        if self.backend is None:
            return f"this torch has no SDPBackend.{self.backend_name}"
        return None

    def version(self):
        return f"torch {torch.__version__}"

    def unsupported(self, shape):
        if shape.dtype == "fp8":
            return "fp8 inputs: torch SDPA has no fp8 attention"
        if shape.page_size:
            return "paged KV cache: SDPA takes contiguous K/V (its decode rows are the dense ones)"
        return None

    def _call(self, q, k, v, scale, causal, gqa, mask=None):
        from torch.nn.attention import sdpa_kernel
        import torch.nn.functional as F
        with sdpa_kernel([self.backend]):
            if gqa:
                return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                                      scale=scale, enable_gqa=True)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                                  scale=scale)

    def prepare(self, p):
        runner = self._prepare(p)
        run = runner.run  # not runner itself: a runner <-> lambda cycle would keep the inputs alive
        note = runner.note

        def first():
            try:
                return _with_warnings(run)
            except RuntimeError as e:
                if not note:
                    raise
                # A refusal names the mask it refused ("No available kernel" stays in the text).
                raise RuntimeError(f"{note}: {e}") from e

        runner.first = first
        return runner

    def _bottom_right_mask(self, sq, sk, like):
        """(mask, note) for causal attention with sq != sk, aligned bottom-right
        like fa3jit's (query row r sees keys 0 .. r + sk - sq). SDPA's is_causal
        is top-left aligned, right only when sq == sk."""
        if self.backend_name in LOWER_RIGHT_BIAS_BACKENDS:
            try:
                from torch.nn.attention.bias import causal_lower_right
                return causal_lower_right(sq, sk), "attn_mask causal_lower_right(sq, sk)"
            except ImportError:
                pass
        # Additive (0 / -inf, the input dtype): torch converts a boolean mask to
        # this inside every call, so it is built once here, outside the timing.
        keep = torch.ones(sq, sk, dtype=torch.bool, device=like.device).tril(sk - sq)
        mask = torch.zeros(1, 1, sq, sk, dtype=like.dtype, device=like.device)
        return mask.masked_fill(~keep, float("-inf")), "additive bottom-right causal attn_mask"

    def _prepare(self, p):
        s = p.shape
        if not s.equal_lengths:
            return self._prepare_nested(p)
        b, sq, sk = s.batch, s.max_q, s.max_k
        q, k, v = p.q, p.k, p.v
        if p.qv is not None:  # MLA as one attention: [q, qv] . [k, v]
            q = torch.cat([q, p.qv], dim=-1)
            k = torch.cat([k, v], dim=-1)
        q4, k4, v4 = _bhsd(q, b, sq), _bhsd(k, b, sk), _bhsd(v, b, sk)
        gqa = s.heads != s.kv_heads
        packed = lambda o: o.transpose(1, 2).reshape(s.total_q, s.heads, s.dv)  # noqa: E731
        if s.causal and 1 < sq != sk:  # speculative decode: a bottom-right mask
            mask, note = self._bottom_right_mask(sq, sk, q4)
            return Runner(lambda: self._call(q4, k4, v4, s.softmax_scale, False, gqa, mask),
                          packed, note=note)
        # is_causal (top-left) equals bottom-right when sq == sk; one query sees every key.
        causal = s.causal and sq > 1
        return Runner(lambda: self._call(q4, k4, v4, s.softmax_scale, causal, gqa), packed)

    def _prepare_nested(self, p):
        """Mixed lengths: jagged nested tensors (SDPA's varlen form)."""
        s = p.shape
        if s.heads != s.kv_heads or p.qv is not None:
            raise NotImplementedError("nested-tensor SDPA here covers MHA varlen without qv")
        def nest(x, cu, lengths):
            # Lengths given up front: SDPA then reads no metadata back (a sync
            # that would also stop CUDA-graph capture).
            nested = torch.nested.nested_tensor_from_jagged(
                x, offsets=cu.long(), min_seqlen=min(lengths), max_seqlen=max(lengths))
            return nested.transpose(1, 2)

        q = nest(p.q, p.cu_seqlens_q, s.seqlens_q)
        k = nest(p.k, p.cu_seqlens_k, s.seqlens_k)
        v = nest(p.v, p.cu_seqlens_k, s.seqlens_k)
        return Runner(lambda: self._call(q, k, v, s.softmax_scale, s.causal, False),
                      lambda o: o.transpose(1, 2).values().reshape(s.total_q, s.heads, s.dv))


# ---- FlashAttention-4 (flash_attn.cute) --------------------------------------

class FlashAttn4(Peer):
    name = "fa4"

    def _probe(self):
        try:
            self.mod = importlib.import_module("flash_attn.cute")
        except Exception as e:  # noqa: BLE001  (ImportError, or a CUDA DSL failing to load)
            return f"flash_attn.cute (flash-attn-4) is not importable: {e}. {NOT_CARRIED}"
        return None

    def version(self):
        return _version("flash_attn.cute", ("flash-attn-4", "fa4"))

    def unsupported(self, shape):
        if shape.dtype == "fp8":
            return "fp8 inputs: not wired in this adapter"
        return None

    def prepare(self, p):
        s = p.shape
        f = self.mod.flash_attn_varlen_func
        first = lambda r: r[0] if isinstance(r, tuple) else r  # noqa: E731
        if p.is_cache:
            q = p.q.view(s.batch, s.max_q, s.heads, s.d)
            qv = None if p.qv is None else p.qv.view(s.batch, s.max_q, s.heads, s.dv)
            run = lambda: first(f(q, p.k, p.v, qv=qv, seqused_k=p.seqused_k,  # noqa: E731
                                  page_table=p.page_table, max_seqlen_q=s.max_q,
                                  max_seqlen_k=s.max_k, softmax_scale=s.softmax_scale,
                                  causal=s.causal))
        else:
            run = lambda: first(f(p.q, p.k, p.v, qv=p.qv, cu_seqlens_q=p.cu_seqlens_q,  # noqa: E731
                                  cu_seqlens_k=p.cu_seqlens_k, max_seqlen_q=s.max_q,
                                  max_seqlen_k=s.max_k, softmax_scale=s.softmax_scale,
                                  causal=s.causal))
        return Runner(run, lambda o: o.reshape(s.total_q, s.heads, s.dv))


# ---- FlashInfer ----------------------------------------------------------------

class FlashInfer(Peer):
    name = "flashinfer"

    def _probe(self):
        try:
            self.fi = importlib.import_module("flashinfer")
        except Exception as e:  # noqa: BLE001
            return f"flashinfer is not importable: {e}. {NOT_CARRIED}"
        return None

    def version(self):
        return _version("flashinfer", ("flashinfer-python",))

    def unsupported(self, shape):
        if shape.dtype == "fp8":
            return "fp8 inputs: not wired in this adapter"
        if shape.family in CACHE_FAMILIES and not shape.page_size:
            return "contiguous cache: FlashInfer decode takes a paged cache (see the paged rows)"
        if shape.family == "specdecode":
            return ("several queries per sequence: not wired in this adapter (FlashInfer's "
                    "decode wrapper takes one; its paged prefill wrapper would be needed)")
        return None

    def prepare(self, p):
        s = p.shape
        ws = torch.empty(FLASHINFER_WORKSPACE_BYTES, dtype=torch.uint8, device=p.q.device)
        if not p.is_cache:
            w = self.fi.BatchPrefillWithRaggedKVCacheWrapper(ws, "NHD")
            w.plan(p.cu_seqlens_q, p.cu_seqlens_k, s.heads, s.kv_heads, s.d, head_dim_vo=s.dv,
                   causal=s.causal, sm_scale=s.softmax_scale, q_data_type=p.q.dtype)
            return Runner(lambda: w.run(p.q, p.k, p.v), lambda o: o)
        ps = s.page_size
        pages = torch.tensor([-(-n // ps) for n in s.seqlens_k], dtype=torch.int32,
                             device=p.q.device)
        indptr = torch.nn.functional.pad(pages.cumsum(0, dtype=torch.int32), (1, 0))
        indices = torch.cat([p.page_table[i, :int(n)] for i, n in enumerate(pages.tolist())])
        last = (p.seqused_k - (pages - 1) * ps).to(torch.int32)
        if p.qv is not None:
            w = self.fi.mla.BatchMLAPagedAttentionWrapper(ws)
            qo_indptr = torch.arange(s.batch + 1, dtype=torch.int32, device=p.q.device)
            # Keywords: the names FlashInfer's MLA plan / run keep across versions.
            w.plan(qo_indptr=qo_indptr, kv_indptr=indptr, kv_indices=indices,
                   kv_len_arr=p.seqused_k, num_heads=s.heads, head_dim_ckv=s.dv,
                   head_dim_kpe=s.d, page_size=ps, causal=s.causal, sm_scale=s.softmax_scale,
                   q_data_type=p.q.dtype, kv_data_type=p.k.dtype)
            ckv, kpe = p.v.squeeze(2), p.k.squeeze(2)
            return Runner(lambda: w.run(q_nope=p.qv, q_pe=p.q, ckv_cache=ckv, kpe_cache=kpe),
                          lambda o: o)
        w = self.fi.BatchDecodeWithPagedKVCacheWrapper(ws, "NHD")
        w.plan(indptr, indices, last, s.heads, s.kv_heads, s.d, ps, q_data_type=p.q.dtype,
               kv_data_type=p.k.dtype, sm_scale=s.softmax_scale)
        return Runner(lambda: w.run(p.q, (p.k, p.v)), lambda o: o)


SDPA_BACKENDS = {"sdpa_cudnn": "CUDNN_ATTENTION", "sdpa_flash": "FLASH_ATTENTION",
                 "sdpa_efficient": "EFFICIENT_ATTENTION"}
# torch runs causal_lower_right on these backends' own bottom-right causal
# kernels; for any other it would build a boolean mask inside every call.
LOWER_RIGHT_BIAS_BACKENDS = ("FLASH_ATTENTION", "EFFICIENT_ATTENTION")
ALL = ("fa3jit", *SDPA_BACKENDS, "fa4", "flashinfer")


def make(names) -> list:
    out = []
    for n in names:
        if n == "fa3jit":
            out.append(Fa3jit())
        elif n in SDPA_BACKENDS:
            out.append(Sdpa(n, SDPA_BACKENDS[n]))
        elif n == "fa4":
            out.append(FlashAttn4())
        elif n == "flashinfer":
            out.append(FlashInfer())
        else:
            raise ValueError(f"peer must be one of {', '.join(ALL)}; got {n!r}")
    return out
