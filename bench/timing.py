"""Timing: median of many timed runs, warm-up excluded, inputs rotated.

On a GPU each timed run is one replay of a CUDA graph that calls the peer
`calls` times, cycling over several copies of the inputs (together more than
L2_FACTOR x the L2 cache, so that no call finds its inputs in L2), timed with
CUDA events; the per-call time is the replay time / calls. A graph removes
the Python launch overhead, which would otherwise dominate decode shapes and
differ between peers. A peer that cannot be captured is timed the same way
without the graph ("eager"). On the CPU each run is one call, timed with
perf_counter."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from typing import Callable, Sequence

import torch

L2_FACTOR = 3
MAX_COPIES = 32
MIN_RUN_MS = 1.0  # a replay lasts at least this long, well above event resolution
MAX_CALLS_PER_RUN = 256


@dataclasses.dataclass
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    calls_per_run: int
    mode: str  # "cuda-graph", "eager" or "cpu"


@dataclasses.dataclass
class Settings:
    target_s: float = 1.0  # timed seconds per (shape, peer), before the caps
    min_runs: int = 10
    max_runs: int = 100
    graphs: bool = True


def l2_bytes(device: str) -> int:
    if device.startswith("cuda"):
        return int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 50 << 20))
    return 0


def copies_for(bytes_per_copy: int, l2: int, memory_cap: int) -> int:
    """Input copies to rotate: enough that L2 holds none from one call to the
    next, no more than fit in memory_cap."""
    if bytes_per_copy <= 0 or l2 <= 0:
        return 1
    want = min(MAX_COPIES, max(1, math.ceil(L2_FACTOR * l2 / bytes_per_copy)))
    return max(1, min(want, memory_cap // bytes_per_copy))


def _summary(per_call_ms: Sequence[float], calls: int, mode: str) -> Timing:
    xs = sorted(per_call_ms)
    pick = lambda f: xs[min(len(xs) - 1, int(f * len(xs)))]  # noqa: E731
    return Timing(statistics.median(xs), pick(0.1), pick(0.9), len(xs), calls, mode)


def _runs_for(settings: Settings, run_ms: float) -> int:
    want = int(settings.target_s * 1e3 / max(run_ms, 1e-6))
    return max(settings.min_runs, min(settings.max_runs, want))


def measure_cpu(fns: Sequence[Callable], settings: Settings) -> Timing:
    for f in fns:  # warm-up
        f()
    t0 = time.perf_counter()
    fns[0]()
    est_ms = (time.perf_counter() - t0) * 1e3
    samples = []
    for i in range(_runs_for(settings, est_ms)):
        t0 = time.perf_counter()
        fns[i % len(fns)]()
        samples.append((time.perf_counter() - t0) * 1e3)
    return _summary(samples, 1, "cpu")


def _call_all(fns, calls):
    for i in range(calls):
        fns[i % len(fns)]()


def _events_ms(body: Callable, runs: int) -> list:
    """Per-run milliseconds of `body`, each run between two CUDA events."""
    pairs = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        body()
        b.record()
        pairs.append((a, b))
    torch.cuda.synchronize()
    return [a.elapsed_time(b) for a, b in pairs]


def _capture(fns, calls):
    """A CUDA graph of `calls` calls, or None (with the reason) if the peer
    cannot be captured."""
    try:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            _call_all(fns, calls)
        torch.cuda.synchronize()
        return graph, ""
    except Exception as e:  # noqa: BLE001  (any failure means: time it eagerly)
        try:
            torch.cuda.synchronize()
        except Exception:  # noqa: BLE001  (the next call reports a broken context)
            pass
        return None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:160]


def measure_cuda(fns: Sequence[Callable], settings: Settings) -> tuple:
    """(Timing, note): note says why a graph was not used, if it was not."""
    # Warm-up on a side stream (compiles, autotunes, and is what graph capture expects).
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        _call_all(fns, 2 * len(fns))
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    est_ms = min(_events_ms(lambda: _call_all(fns, len(fns)), 3)) / len(fns)
    rounds = max(1, math.ceil(MIN_RUN_MS / max(est_ms * len(fns), 1e-4)))
    calls = min(MAX_CALLS_PER_RUN, len(fns) * rounds)
    calls = max(calls, len(fns))
    graph, note = (None, "graphs off") if not settings.graphs else _capture(fns, calls)
    runs = _runs_for(settings, est_ms * calls)
    if graph is not None:
        body, mode = graph.replay, "cuda-graph"
        graph.replay()  # the first replay uploads the graph
    else:
        body, mode = (lambda: _call_all(fns, calls)), "eager"
    samples = [ms / calls for ms in _events_ms(body, runs)]
    del graph
    return _summary(samples, calls, mode), note


def measure(fns: Sequence[Callable], device: str, settings: Settings) -> tuple:
    if device.startswith("cuda"):
        return measure_cuda(fns, settings)
    return measure_cpu(fns, settings), ""
