"""The correctness gate run before a peer is timed: its output is compared
with a float32 attention computed here, on a sub-problem (a few sequences,
two heads, the first and last query rows of each), so that it stays cheap
for 75k-token sequences; every key of those rows is included.

Tolerance (the upstream FlashAttention rule, as in the design brief and
fa3jit's own tests, tests/cpp/testing/reference_check.cpp): the error
against the float32 result may be at most MULT x the error of a "plain"
computation (float32 scores, P rounded to the input precision -- bf16 for
fp8 inputs, as the project's reference does --, out rounded to bf16) plus
atol = 2 x bf16's unit roundoff x (max|ref| + 0.3); MULT is 2 for bf16 and
4 for fp8."""

from __future__ import annotations

import dataclasses

import torch

from problem import Problem

ROWS_PER_END = 32  # query rows checked at each end of a sequence
MULT = {"bf16": 2.0, "fp16": 2.0, "fp8": 4.0}
OUT_UNIT_ROUNDOFF = 2.0 ** -8  # bf16, the output dtype of bf16 and fp8 inputs
P_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp8": torch.bfloat16}


@dataclasses.dataclass
class Check:
    ok: bool
    max_err: float
    tol: float
    detail: str = ""


def _pick(n: int, count: int) -> list:
    """Up to `count` indices spread over range(n): the ends first."""
    picks = [0, n - 1, n // 2][:count]
    return sorted(set(i for i in picks if 0 <= i < n))


def _rows(sq: int) -> torch.Tensor:
    rows = sorted(set(range(min(sq, ROWS_PER_END))) | set(range(max(0, sq - ROWS_PER_END), sq)))
    return torch.tensor(rows, dtype=torch.long)


def _attention(p: Problem, b: int, head: int, rows: torch.Tensor):
    """(float32 result, plain result) for query rows of sequence b, one head."""
    s = p.shape
    group = s.heads // s.kv_heads
    kvh = head // group
    start = int(p.cu_seqlens_q[b])
    sq, sk = s.seqlens_q[b], s.seqlens_k[b]
    rows_dev = rows.to(p.q.device)
    k, v = p.keys(b)
    # Slice, convert, then pick rows: fp8 tensors take slicing everywhere.
    qs = p.q[start:start + sq, head].float()[rows_dev]
    ks, vs = k[:, kvh].float(), v[:, kvh].float()
    if p.descale is not None:
        scale_b = p.descale[b, kvh]
        qs, ks, vs = qs * scale_b, ks * scale_b, vs * scale_b
    scores = (qs @ ks.T) * s.softmax_scale
    if p.qv is not None:
        scores += (p.qv[start:start + sq, head].float()[rows_dev] @ vs.T) * s.softmax_scale
    if s.causal:
        keys = torch.arange(sk, device=scores.device)[None, :]
        scores = scores.masked_fill(keys > rows_dev[:, None] + (sk - sq), float("-inf"))
    prob = torch.softmax(scores, dim=-1)
    ref = prob @ vs
    plain_p = prob.to(P_DTYPE[s.dtype]).float()
    plain = (plain_p @ vs).to(torch.bfloat16).float()
    return ref, plain


def check(p: Problem, out_packed: torch.Tensor) -> Check:
    """Compare out (total_q, h, dv) with the float32 sub-problem."""
    s = p.shape
    want = (s.total_q, s.heads, s.dv)
    if tuple(out_packed.shape) != want:
        return Check(False, float("inf"), 0.0,
                     f"output shape {tuple(out_packed.shape)}, expected {want}")
    err = plain_err = ref_max = 0.0
    longest = max(range(s.batch), key=lambda i: s.seqlens_q[i])
    for b in sorted(set(_pick(s.batch, 2)) | {longest}):
        if s.seqlens_q[b] == 0 or s.seqlens_k[b] == 0:
            continue
        rows = _rows(s.seqlens_q[b])
        start = int(p.cu_seqlens_q[b])
        for head in _pick(s.heads, 2):
            ref, plain = _attention(p, b, head, rows)
            got = out_packed[start + rows.to(out_packed.device), head].float()
            if not torch.isfinite(got).all():
                return Check(False, float("nan"), 0.0,
                             f"non-finite output (sequence {b}, head {head})")
            err = max(err, (got - ref).abs().max().item())
            plain_err = max(plain_err, (plain - ref).abs().max().item())
            ref_max = max(ref_max, ref.abs().max().item())
    tol = MULT[s.dtype] * plain_err + 2 * OUT_UNIT_ROUNDOFF * (ref_max + 0.3)
    return Check(err <= tol, err, tol, "" if err <= tol else
                 f"max error {err:.3g} > tolerance {tol:.3g} (plain error {plain_err:.3g})")
