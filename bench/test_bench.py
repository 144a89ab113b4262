"""Tests of the benchmark suite's own logic (pytest bench/test_bench.py).

The arithmetic (visible pairs, FLOPs, bytes), the grids, the L2 rotation
count and the Markdown report run everywhere; the reference check and a
CPU smoke run of the whole suite need torch and the fa3jit package and skip
without them."""

from __future__ import annotations

import itertools
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shapes  # noqa: E402
from shapes import Shape, visible_pairs  # noqa: E402


def brute_pairs(sq, sk, causal):
    return sum(1 for r in range(sq) for j in range(sk) if not causal or j <= r + sk - sq)


@pytest.mark.parametrize("sq,sk", list(itertools.product((0, 1, 2, 7, 64, 65), (0, 1, 3, 64, 100))))
def test_visible_pairs_match_brute_force(sq, sk):
    for causal in (False, True):
        assert visible_pairs(sq, sk, causal) == brute_pairs(sq, sk, causal), (sq, sk, causal)


def test_flops_count_four_sq_sk_h_d_non_causal():
    s = Shape("prefill", (512,) * 32, (512,) * 32, 16, 16, 128, 128, False)
    assert s.flops() == 4 * 512 * 512 * 16 * 128 * 32


def test_causal_flops_count_the_visible_pairs():
    s = Shape("prefill", (4,), (4,), 1, 1, 8, 8, True)
    assert s.flops() == 4 * 8 * (1 + 2 + 3 + 4)


def test_mla_flops_add_the_qv_product():
    s = Shape("mla", (1,), (10,), 2, 1, 64, 512, False, page_size=64, qv=True)
    assert s.flops() == 10 * 2 * (2 * 64 + 2 * 512 + 2 * 512)


def test_decode_bytes_read_k_and_v_once_plus_q_and_out():
    s = Shape("decode", (1,) * 4, (1000,) * 4, 32, 8, 128, 128, False, page_size=16)
    kv = 4 * 1000 * 8 * 256 * 2
    q_out = 4 * 32 * 128 * 2 * 2
    assert s.bytes_moved() == kv + q_out
    # Memory counts whole pages: 1000 tokens take 63 pages of 16.
    assert s.input_bytes() == 4 * 63 * 16 * 8 * 256 * 2 + q_out


def test_fp8_output_is_counted_as_bf16():
    s = Shape("prefill", (16,), (16,), 2, 2, 64, 64, False, "fp8")
    assert s.bytes_moved() == 16 * 2 * 128 * 1 + 16 * 2 * 64 * 1 + 16 * 2 * 64 * 2


def test_full_grids_cover_the_issue():
    pre = shapes.prefill(False)
    assert {s.d for s in pre} == {64, 128, 256}
    assert {s.dtype for s in pre} == {"bf16", "fp8"}
    assert {s.seqlens_q[0] for s in pre} == {512, 1024, 2048, 4096, 8192, 16384}
    assert all(s.total_q == shapes.PREFILL_TOTAL and s.heads * s.d == 2048 for s in pre)
    dec = shapes.decode(False)
    assert {s.batch for s in dec} == {1, 16, 64, 128}
    assert {(s.heads, s.kv_heads) for s in dec} == {(32, 8), (64, 8), (32, 32)}
    assert {s.max_k for s in dec} == {1024, 8192, 32768, 131072}
    assert {s.page_size for s in dec} >= {1, 16, 64}
    assert all(24 <= s.heads <= 40 and 16000 <= s.total_q <= 76000 and not s.causal
               for s in shapes.diffusion(False))
    assert all(s.qv for s in shapes.mla(False))
    assert all(sum(shapes.VARLEN_MIXES[m]) == shapes.PREFILL_TOTAL
               for m in ("short-heavy", "long-tail"))


def test_specdecode_grid_covers_issue_8_item_5():
    full = shapes.specdecode(False)
    assert {s.max_q for s in full} == {2, 4, 8}
    assert {s.batch for s in full} == {1, 16, 64, 128}
    assert {(s.heads, s.kv_heads) for s in full} == {(32, 8), (64, 8), (32, 32)}
    assert {s.max_k for s in full} == {1024, 8192, 32768, 131072}
    assert {s.page_size for s in full} == {0, 1, 16, 64}
    assert len(full) == 3 * 4 * 3 * 4 * 4
    assert all(s.causal and s.d == s.dv == 128 and s.equal_lengths and s.metric == "gbps"
               for s in full)
    quick = shapes.specdecode(True)
    assert 0 < len(quick) <= 12 and {s.page_size for s in quick} >= {0, 64}
    assert all(s.batch >= 16 and s.max_k >= 8192 for s in quick)  # the issue's target range
    assert any(s.label() == "b16 sq4 sk8192 h32/8 d128 causal bf16 page16" for s in full)


def test_uniform_40_mix_is_fixed_and_spans_128_to_8k():
    mix = shapes.VARLEN_MIXES["uniform-40"]
    assert len(mix) == 40 and all(128 <= n <= 8192 for n in mix)
    assert mix == shapes.lcg_lengths(40, 128, 8192, seed=5)  # the same mix every run
    assert min(mix) < 512 and max(mix) > 7500 and len(set(mix)) == 40
    assert sum(mix) == 149763  # runs compare only if the mix never changes


def test_every_varlen_mix_is_followed_by_its_equal_length_companion():
    for quick in (False, True):
        grid = shapes.varlen(quick)
        assert len(grid) % 2 == 0
        for mix, twin in zip(grid[::2], grid[1::2]):
            assert not mix.equal_lengths and twin.equal_lengths
            assert twin == shapes.equal_length_companion(mix)
            assert twin.batch == mix.batch and twin.causal == mix.causal
            assert (twin.heads, twin.kv_heads, twin.d, twin.dv) == (mix.heads, mix.kv_heads,
                                                                    mix.d, mix.dv)
            assert abs(twin.total_q - mix.total_q) <= twin.batch / 2
    assert {tuple(s.seqlens_q) for s in shapes.varlen(True)} >= {
        shapes.VARLEN_MIXES["uniform-40"]}
    twin = shapes.equal_length_companion(shapes.Shape("varlen", (1, 2, 4), (1, 2, 4), 1, 1, 8, 8,
                                                      False))
    assert twin.seqlens_q == (2, 2, 2)  # 7 / 3 rounds to 2


def test_speculative_decode_counts_bottom_right_causal_pairs_and_bytes():
    s = Shape("specdecode", (4,) * 2, (10,) * 2, 2, 1, 8, 8, True, page_size=16)
    pairs = 7 + 8 + 9 + 10  # query r of 4 sees keys 0 .. r + 6
    assert s.flops() == 2 * pairs * 2 * (2 * 8 + 2 * 8)
    kv = 2 * 10 * 1 * 16 * 2
    q_out = 2 * 4 * 2 * 8 * 2 * 2
    assert s.bytes_moved() == kv + q_out
    assert s.label() == "b2 sq4 sk10 h2/1 d8 causal bf16 page16"
    assert Shape.from_dict(s.to_dict()) == s


def test_quick_grids_are_subsets_and_labels_are_unique():
    full = shapes.grid(shapes.FAMILIES, quick=False)
    quick = shapes.grid(shapes.FAMILIES, quick=True)
    assert set(quick) < set(full)
    for fam in shapes.FAMILIES:
        labels = [s.label() for s in full if s.family == fam]
        assert labels and len(labels) == len(set(labels)), fam


def test_match_keeps_the_shapes_whose_label_matches():
    grid = shapes.grid(["decode"], quick=False)
    picked = shapes.matching(grid, r"^b1 sq1 sk1024 h32/8 .* dense$")
    assert [s.label() for s in picked] == ["b1 sq1 sk1024 h32/8 d128 full bf16 dense"]
    assert shapes.matching(grid, None) == grid and shapes.matching(grid, "") == grid
    assert shapes.matching(grid, "no such shape") == []


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="family must be one of"):
        shapes.grid(["prefil"], quick=True)


def _importable(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


needs_torch = pytest.mark.skipif(not _importable("torch"), reason="torch not importable")
needs_fa3jit = pytest.mark.skipif(not (_importable("torch") and _importable("fa3jit")),
                                  reason="torch or the fa3jit package not importable")


@needs_torch
def test_copies_rotate_past_l2_within_the_memory_cap():
    import timing
    l2 = 50 << 20
    assert timing.copies_for(1 << 20, l2, 1 << 40) == timing.MAX_COPIES
    assert timing.copies_for(20 << 20, l2, 1 << 40) == 8  # 3 * 50 / 20 rounded up
    assert timing.copies_for(20 << 20, l2, 50 << 20) == 2  # memory cap
    assert timing.copies_for(1 << 30, l2, 1 << 40) == 1


@needs_torch
def test_cpu_timing_takes_the_median():
    import timing
    calls = []
    t = timing.measure_cpu([lambda: calls.append(1)], timing.Settings(0.0, 5, 5, False))
    assert t.runs == 5 and t.mode == "cpu" and len(calls) == 1 + 1 + 5
    assert t.p10_ms <= t.median_ms <= t.p90_ms


def _fake_rows():
    base = Shape("prefill", (1024,) * 16, (1024,) * 16, 16, 16, 128, 128, True).to_dict()
    return [dict(base, peer="fa3jit", status="ok", reason="", tflops=400.0, gbps=1.0),
            dict(base, peer="sdpa_flash", status="ok", reason="", tflops=200.0, gbps=1.0),
            dict(base, peer="fa4", status="unavailable", reason="not installed")]


def _varlen_rows():
    """fa3jit and SDPA rows of the uniform-40 mix and its companions, as
    results.json holds them: non-causal 450 vs 500 TFLOPS, causal 400 vs 500,
    the long-tail companion not measured."""
    rows = []

    def add(shape, peer, value, status="ok"):
        rows.append(dict(shape.to_dict(), peer=peer, status=status, reason="",
                         tflops=value, gbps=1.0))

    for causal, mixed in ((False, 450.0), (True, 400.0)):
        mix = Shape("varlen", shapes.VARLEN_MIXES["uniform-40"],
                    shapes.VARLEN_MIXES["uniform-40"], 16, 16, 128, 128, causal)
        add(mix, "fa3jit", mixed)
        add(mix, "sdpa_cudnn", 100.0)
        add(shapes.equal_length_companion(mix), "fa3jit", 500.0)
        add(shapes.equal_length_companion(mix), "sdpa_cudnn", 900.0)
    tail = Shape("varlen", shapes.VARLEN_MIXES["long-tail"], shapes.VARLEN_MIXES["long-tail"],
                 16, 16, 128, 128, True)
    add(tail, "fa3jit", 300.0)
    add(shapes.equal_length_companion(tail), "fa3jit", None, status="error")
    return rows


def test_report_prints_fa3jit_varlen_over_equal_lengths_from_results_json(tmp_path):
    import report
    path = tmp_path / "results.json"
    report.write_json(str(path), {"device_name": "X"}, _varlen_rows())
    assert report.main(["--out", str(tmp_path / "out"), str(path)]) == 0
    md = (tmp_path / "out" / "results.md").read_text().splitlines()
    head = md.index("fa3jit, mixed lengths / the same tokens as equal-length sequences "
                    "(TFLOPS; issue 5 target: >= 0.90):")
    assert md.index("### varlen (TFLOPS)") < head
    table = md[head + 2:head + 7]
    assert table[0] == "| mixed lengths | equal lengths | mixed | equal | mixed / equal |"
    assert table[2] == ("| b40 varlen tq149763 tk149763 h16/16 d128 full bf16 | b40 sq3744 "
                        "sk3744 h16/16 d128 full bf16 | 450.0 | 500.0 | 0.90 (meets) |")
    assert table[3].endswith("| 400.0 | 500.0 | 0.80 (below) |") and "causal" in table[3]
    assert table[4].startswith("| b6 varlen") and table[4].endswith("| err | not measured |")


def test_markdown_has_values_ratio_and_reasons():
    import report
    meta = {"device_name": "X", "command": "c", "driver": "580.1",
            "peers": {"fa3jit": {"available": True, "version": "0.1.0"},
                      "fa4": {"available": False, "reason": "no wheel"}}}
    md = report.markdown(meta, _fake_rows(), ["fa3jit", "sdpa_flash", "fa4"])
    assert "| driver | 580.1 |" in md and "| fa4 | not run: no wheel |" in md
    assert "| fa3jit | 0.1.0 |" in md and "| command | `c` |" in md
    row = [line for line in md.splitlines() if line.startswith("| b16")][0]
    assert row.split("|")[2:6] == [" 400.0 ", " 200.0 ", " n/a ", " 2.00 "]
    assert "- fa4, unavailable (1 shape): not installed" in md
    assert "geometric mean 2.00 over 1 shape (min 2.00, max 2.00)" in md


@needs_fa3jit
@pytest.mark.parametrize("shape", [s for s in shapes.smoke()], ids=lambda s: s.label())
def test_reference_check_passes_fa3jit_and_catches_an_error(shape):
    import peers
    import problem
    import reference
    p = problem.make(shape, "cpu")
    runner = peers.Fa3jit().prepare(p)
    out = runner.packed(runner.first())
    assert reference.check(p, out).ok
    bad = out.float().clone()
    bad[-1, -1, 0] += 0.25  # one element of a checked row (the last query, last head)
    chk = reference.check(p, bad.to(out.dtype))
    assert not chk.ok and "tolerance" in chk.detail


@needs_fa3jit
def test_cpu_smoke_run_writes_json_markdown_and_exits_0(tmp_path, capsys):
    import suite
    rc = suite.main(["--out", str(tmp_path), "--device", "cpu", "--families", "prefill,decode",
                     "--peers", "fa3jit,sdpa_flash,fa4", "--target-seconds", "0.01",
                     "--min-runs", "3", "--max-runs", "3"])
    assert rc == 0
    data = json.loads((tmp_path / "results.json").read_text())
    mine = [r for r in data["results"] if r["peer"] == "fa3jit"]
    assert mine and all(r["status"] == "ok" and r["max_err"] <= r["tol"] for r in mine)
    fa4 = [r for r in data["results"] if r["peer"] == "fa4"]
    assert all(r["status"] in ("unavailable", "unsupported", "ok", "error") and
               (r["status"] == "ok" or r["reason"]) for r in fa4)
    printed = capsys.readouterr().out
    last_line = (tmp_path / "results.md").read_text().rstrip().splitlines()[-1]
    assert printed.rstrip().endswith(last_line)


@pytest.mark.skipif(not _importable("matplotlib"), reason="matplotlib not importable")
def test_plots_one_specdecode_png_per_query_count_and_heads(tmp_path):
    import report
    rows = []
    for nq in (2, 8):
        for n in (1024, 8192):
            s = Shape("specdecode", (nq,) * 16, (n,) * 16, 32, 8, 128, 128, True, page_size=64)
            rows.append(dict(s.to_dict(), peer="fa3jit", status="ok", reason="", gbps=2000.0))
    made = sorted(os.path.basename(p) for p in report.plots(str(tmp_path), rows))
    assert made == ["specdecode_q2_h32_kv8.png", "specdecode_q8_h32_kv8.png"]


def _specdecode_dense():
    (shape,) = [s for s in shapes.smoke() if s.family == "specdecode" and not s.page_size]
    return shape


@needs_torch
@pytest.mark.parametrize("native_bias", [True, False])
def test_sdpa_speculative_decode_is_bottom_right_causal(monkeypatch, native_bias):
    """SDPA's is_causal is top-left aligned: wrong for 4 queries against 300
    keys, and the reference check says so; the peer passes a bottom-right
    mask (causal_lower_right, or an additive mask where torch would build
    one per call) and passes the check."""
    import peers
    import problem
    import reference
    import torch.nn.functional as F
    if not native_bias:
        monkeypatch.setattr(peers, "LOWER_RIGHT_BIAS_BACKENDS", ())
    shape = _specdecode_dense()
    p = problem.make(shape, "cpu")
    peer = peers.Sdpa("sdpa_flash", "FLASH_ATTENTION")
    assert peer.why_not is None
    runner = peer.prepare(p)
    assert runner.note.startswith("attn_mask causal_lower_right" if native_bias else "additive")
    assert reference.check(p, runner.packed(runner.first())).ok
    b, sq, sk = shape.batch, shape.max_q, shape.max_k
    q = peers._bhsd(p.q, b, sq)
    k, v = (peers._bhsd(x, b, sk) for x in (p.k, p.v))
    top_left = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=shape.softmax_scale,
                                              enable_gqa=True)
    assert not reference.check(p, runner.packed(top_left)).ok


@needs_fa3jit
def test_cpu_smoke_run_of_varlen_and_specdecode(tmp_path):
    import suite
    rc = suite.main(["--out", str(tmp_path), "--families", "varlen,specdecode",
                     "--peers", "fa3jit,sdpa_flash,flashinfer"] + CPU_ARGS)
    assert rc == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    mine = [r for r in rows if r["peer"] == "fa3jit"]
    assert {r["family"] for r in mine} == {"varlen", "specdecode"}
    assert len(mine) == sum(s.family in ("varlen", "specdecode") for s in shapes.smoke())
    assert all(r["status"] == "ok" and r["max_err"] <= r["tol"] for r in mine)
    sdpa = [r for r in rows if r["peer"] == "sdpa_flash" and r["family"] == "specdecode"
            and not r["page_size"]]
    assert sdpa and sdpa[0]["status"] == "ok" and "causal_lower_right" in sdpa[0]["note"]
    fi = [r for r in rows if r["peer"] == "flashinfer"]
    assert fi and all(r["status"] in ("unavailable", "unsupported") and r["reason"] for r in fi)
    md = (tmp_path / "results.md").read_text()
    assert "### specdecode (GB/s)" in md
    assert "| b3 varlen tq181 tk181 h4/4 d64 causal bf16 | b3 sq60 sk60 h4/4 d64 causal bf16 |" in md


@needs_fa3jit
def test_merge_combines_runs_split_by_family(tmp_path):
    import suite
    common = ["--device", "cpu", "--peers", "fa3jit", "--target-seconds", "0.01",
              "--min-runs", "2", "--max-runs", "2"]
    assert suite.main(["--out", str(tmp_path / "a"), "--families", "diffusion"] + common) == 0
    assert suite.main(["--out", str(tmp_path / "b"), "--families", "mla"] + common) == 0
    import report
    rc = report.main(["--out", str(tmp_path / "m"), str(tmp_path / "a" / "results.json"),
                      str(tmp_path / "b" / "results.json")])
    assert rc == 0
    data = json.loads((tmp_path / "m" / "results.json").read_text())
    assert {r["family"] for r in data["results"]} == {"diffusion", "mla"}
    assert data["meta"]["command"].count("suite.py") == 2
    md = (tmp_path / "m" / "results.md").read_text()
    assert "### diffusion" in md and "### mla" in md


CPU_ARGS = ["--device", "cpu", "--target-seconds", "0.01", "--min-runs", "2", "--max-runs", "2"]


@needs_fa3jit
def test_a_wrong_result_is_not_timed_and_fails_the_run(tmp_path, monkeypatch):
    import peers
    import suite
    real = peers.Fa3jit.prepare

    def off_by_a_bit(self, p):
        runner = real(self, p)
        runner.first = lambda: runner.run() * 1.05
        return runner

    monkeypatch.setattr(peers.Fa3jit, "prepare", off_by_a_bit)
    rc = suite.main(["--out", str(tmp_path), "--families", "diffusion", "--peers", "fa3jit"]
                    + CPU_ARGS)
    assert rc == 1
    (row,) = json.loads((tmp_path / "results.json").read_text())["results"]
    assert row["status"] == "wrong" and "tolerance" in row["reason"] and "median_ms" not in row


@needs_fa3jit
def test_a_peer_that_raises_gets_a_row_with_the_reason(tmp_path, monkeypatch):
    import peers
    import suite

    def broken(self, p):
        raise RuntimeError("kernel exploded\nsecond line")

    monkeypatch.setattr(peers.Sdpa, "prepare", broken)
    rc = suite.main(["--out", str(tmp_path), "--families", "diffusion",
                     "--peers", "fa3jit,sdpa_flash"] + CPU_ARGS)
    assert rc == 0
    rows = {r["peer"]: r for r in json.loads((tmp_path / "results.json").read_text())["results"]}
    assert rows["fa3jit"]["status"] == "ok"
    assert rows["sdpa_flash"]["status"] == "error"
    assert rows["sdpa_flash"]["reason"] == "RuntimeError: kernel exploded"


@needs_fa3jit
def test_the_budget_skips_with_a_reason(tmp_path):
    import suite
    rc = suite.main(["--out", str(tmp_path), "--families", "prefill", "--peers", "fa3jit",
                     "--budget-seconds", "0.001"] + CPU_ARGS)
    assert rc in (0, 2)  # the first shape may start within the first millisecond
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    assert len(rows) == 3
    assert all(r["status"] == "skipped" and "budget" in r["reason"] for r in rows[1:])


class _FakeCuda:
    """Enough of torch.cuda for timing.measure_cuda's control flow on a CPU:
    events read the wall clock, a graph replay counts."""

    def __init__(self, capture_fails=False):
        import contextlib
        import time as _time
        self.replays = 0
        fake = self

        class Event:
            def __init__(self, enable_timing=False):
                self.t = None

            def record(self):
                self.t = _time.perf_counter()

            def elapsed_time(self, other):
                return (other.t - self.t) * 1e3

        class Stream:
            def wait_stream(self, other):
                pass

        class Graph:
            def replay(self):
                fake.replays += 1

        @contextlib.contextmanager
        def graph(g):
            yield
            if capture_fails:
                raise RuntimeError("operation not permitted when stream is capturing")

        self.Event, self.Stream, self.CUDAGraph, self.graph = Event, Stream, Graph, graph
        self.stream = lambda s: contextlib.nullcontext()
        self.current_stream = Stream
        self.synchronize = lambda: None


@needs_torch
@pytest.mark.parametrize("capture_fails", [False, True])
def test_cuda_timing_control_flow(monkeypatch, capture_fails):
    import timing
    fake = _FakeCuda(capture_fails)
    monkeypatch.setattr(timing.torch, "cuda", fake)
    calls = [0, 0]
    fns = [lambda: calls.__setitem__(0, calls[0] + 1), lambda: calls.__setitem__(1, calls[1] + 1)]
    t, note = timing.measure(fns, "cuda", timing.Settings(0.0, 4, 4, True))
    assert t.runs == 4 and len(fns) <= t.calls_per_run <= timing.MAX_CALLS_PER_RUN
    if capture_fails:
        assert t.mode == "eager" and "RuntimeError" in note and fake.replays == 0
    else:
        assert t.mode == "cuda-graph" and note == "" and fake.replays == 1 + 4
    assert calls[0] > 0 and calls[1] > 0  # both copies were called


@needs_fa3jit
def test_inputs_are_freed_after_each_shape(monkeypatch):
    """GPU memory must not pile up over hundreds of shapes: after a shape,
    nothing (peers, runners, reference cycles) holds its inputs."""
    import gc
    import weakref
    import problem
    import suite
    made = []
    real = problem.make

    def tracked(shape, device, seed=0):
        p = real(shape, device, seed)
        made.append(weakref.ref(p.k))
        return p

    real_bhsd = suite.peers_mod._bhsd

    def tracked_bhsd(*a):
        x = real_bhsd(*a)
        made.append(weakref.ref(x))
        return x

    monkeypatch.setattr(suite.problem_mod, "make", tracked)
    monkeypatch.setattr(suite.peers_mod, "_bhsd", tracked_bhsd)  # SDPA's own copies
    args = suite.parse_args(["--out", "unused", "--peers", "fa3jit,sdpa_flash"] + CPU_ARGS)
    run = suite.Run(args, suite.peers_mod.make(["fa3jit", "sdpa_flash"]))
    gc.disable()  # the suite must free them itself (it collects after each shape)
    try:
        run.shape(shapes.smoke()[0])
        alive = [ref() is not None for ref in made]
    finally:
        gc.enable()
    assert len(alive) == 4 and not any(alive)
    assert [r["status"] for r in run.rows] == ["ok", "ok"]
