"""flash_attn_with_kvcache with torch tensors: the append + rotary on CPU
tensors, and on a supported GPU a decode step captured in a torch CUDA graph
and replayed with new lengths, a new page table and new tokens copied into
the same tensors (checked against the numpy model and the reference)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fa3jit  # noqa: E402
from gpu import requires_gpu  # noqa: E402
from kvcache_model import Decode  # noqa: E402

_TENSORS = ("q", "k_cache", "v_cache", "k", "v", "cos", "sin", "lens", "page_table")


def tensors(dec, device):
    """The decode call's arrays as torch tensors on `device`."""
    arrays = dict(q=dec.q, k_cache=dec.k_cache, v_cache=dec.v_cache, k=dec.k, v=dec.v,
                  cos=dec.cos, sin=dec.sin, lens=dec.lens, page_table=dec.page_table)
    return {n: torch.from_numpy(np.ascontiguousarray(x)).to(device) for n, x in arrays.items()}


def call(t, num_splits, workspace=None):
    return fa3jit.flash_attn_with_kvcache(
        t["q"], t["k_cache"], t["v_cache"], k=t["k"], v=t["v"], rotary_cos=t["cos"],
        rotary_sin=t["sin"], cache_seqlens=t["lens"], page_table=t["page_table"], causal=True,
        num_splits=num_splits, return_softmax_lse=True, workspace=workspace)


def poisoned_workspace(nbytes, device):
    """A float32 workspace of at least nbytes, every byte 0xFF (NaN)."""
    ws = torch.empty((nbytes + 3) // 4, dtype=torch.float32, device=device)
    ws.view(torch.uint8).fill_(0xFF)
    return ws


def decode(seed, lens):
    return Decode(dtype=np.float16, page_size=16, s_cache=64, cache_seqlens=lens, new=(1, 1, 1),
                  q_lens=(1, 1, 1), rotary_dim=16, seed=seed)


@pytest.mark.parametrize("with_workspace", [False, True])
def test_cpu_tensors_append_with_rotary(with_workspace):
    """A workspace changes nothing on the CPU (its backend keeps its own
    scratch), and no CPU call needs one."""
    assert fa3jit.split_workspace_bytes_bound(128, "cpu") == 0
    dec = decode(1, (10, 3, 40))
    expected = dec.expected()
    t = tensors(dec, "cpu")
    out, lse = call(t, 0, poisoned_workspace(64, "cpu") if with_workspace else None)
    dec.check(expected, t["k_cache"].numpy(), t["v_cache"].numpy(), out.numpy(), lse.numpy(),
              "float16")


@requires_gpu
@pytest.mark.parametrize("with_workspace", [False, True])
def test_cuda_graph_decode_step_replays_with_new_inputs(with_workspace):
    """With a workspace (sized once by split_workspace_bytes_bound, poisoned)
    the step allocates nothing; the results are the same."""
    first, second = decode(1, (10, 3, 40)), decode(2, (30, 0, 50))
    t = tensors(first, "cuda")
    ws = poisoned_workspace(fa3jit.split_workspace_bytes_bound(first.v.shape[-1]), "cuda") \
        if with_workspace else None
    warm = {n: x.clone() for n, x in t.items()}  # the first call compiles; keep t's caches
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        call(warm, 2, ws)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out, lse = call(t, 2, ws)
    g.replay()
    torch.cuda.synchronize()
    first.check(first.expected(), t["k_cache"].cpu().numpy(), t["v_cache"].cpu().numpy(),
                out.cpu().numpy(), lse.cpu().numpy(), "float16")

    new = tensors(second, "cuda")
    for name in _TENSORS:
        t[name].copy_(new[name])
    g.replay()
    torch.cuda.synchronize()
    second.check(second.expected(), t["k_cache"].cpu().numpy(), t["v_cache"].cpu().numpy(),
                 out.cpu().numpy(), lse.cpu().numpy(), "float16")


def test_custom_op_schema_and_fake_kernel():
    dec = decode(3, (4, 9, 2))
    t = tensors(dec, "cpu")
    out = torch.empty(t["q"].shape, dtype=t["q"].dtype)
    args = (t["q"], t["k_cache"], t["v_cache"], t["k"], t["v"], None, t["cos"], t["sin"],
            t["lens"], None, None, None, t["page_table"], None, None, None, None, None, None, None,
            None, True, -1, -1, None, 0.0, True, None, 0, None, False, 0, True, None, out)
    torch.library.opcheck(torch.ops.fa3jit.flash_attn_with_kvcache.default, args,
                          test_utils=("test_schema", "test_faketensor"))


def test_torch_compile_traces_a_decode_step_cpu():
    """fullgraph: no graph break; the appended caches and out match eager."""
    eager_dec, compiled_dec = decode(4, (7, 0, 33)), decode(4, (7, 0, 33))
    expected = eager_dec.expected()
    te, tc = tensors(eager_dec, "cpu"), tensors(compiled_dec, "cpu")
    compiled = torch.compile(lambda t: call(t, 1), fullgraph=True, backend="aot_eager")
    out_c, lse_c = compiled(tc)
    out_e, lse_e = call(te, 1)
    torch.testing.assert_close(out_c, out_e)
    torch.testing.assert_close(lse_c, lse_e)
    eager_dec.check(expected, tc["k_cache"].numpy(), tc["v_cache"].numpy(), out_c.numpy(),
                    lse_c.numpy(), "float16")


def test_torch_compile_with_a_scheduler_metadata_plan_cpu():
    """The plan (a host int32 tensor) goes through the custom op: no graph
    break, the same answers as eager with the same plan."""
    eager_dec, compiled_dec = decode(5, (7, 0, 33)), decode(5, (7, 0, 33))
    te, tc = tensors(eager_dec, "cpu"), tensors(compiled_dec, "cpu")
    plan = fa3jit.get_scheduler_metadata(
        te["q"], te["k_cache"], te["v_cache"], k=te["k"], v=te["v"], rotary_cos=te["cos"],
        rotary_sin=te["sin"], cache_seqlens=te["lens"], page_table=te["page_table"], causal=True)
    assert plan.dtype == torch.int32 and plan.device.type == "cpu"

    def step(t):
        return fa3jit.flash_attn_with_kvcache(
            t["q"], t["k_cache"], t["v_cache"], k=t["k"], v=t["v"], rotary_cos=t["cos"],
            rotary_sin=t["sin"], cache_seqlens=t["lens"], page_table=t["page_table"], causal=True,
            scheduler_metadata=plan, return_softmax_lse=True)

    out_c, lse_c = torch.compile(step, fullgraph=True, backend="aot_eager")(tc)
    out_e, lse_e = step(te)
    torch.testing.assert_close(out_c, out_e)
    torch.testing.assert_close(lse_c, lse_e)
    torch.testing.assert_close(tc["k_cache"], te["k_cache"])


@requires_gpu
def test_too_small_workspace_is_named_and_nothing_is_written():
    # 900 keys: 2 splits of at least one key block each
    dec = Decode(dtype=np.float16, page_size=16, s_cache=1024, cache_seqlens=(600, 3, 900),
                 new=(1, 1, 1), q_lens=(1, 1, 1), rotary_dim=16, seed=3)
    t = tensors(dec, "cuda")
    before = t["k_cache"].clone()
    # 2 splits x 3 rows x h x (dv + 1) x 4 bytes, less 16
    need = 2 * dec.q.shape[0] * dec.q.shape[1] * dec.q.shape[2] * (dec.v.shape[-1] + 1) * 4
    with pytest.raises(ValueError, match="workspace holds"):
        call(t, 2, poisoned_workspace(need - 16, "cuda"))
    torch.cuda.synchronize()
    assert torch.equal(t["k_cache"], before)
