"""Which device fa3jit runs on and whether it can: the C++ capability gate
(fa3jit/device.h) with Python's ways of naming a device."""

from __future__ import annotations

import sys

from . import _fa3jit
from ._fa3jit import DeviceInfo

_BACKENDS = ("cpu", "cuda", "musa")
_supported: dict = {}  # (backend, index) -> bool, filled on first ask


def _torch_cuda():
    """torch.cuda when the caller has imported torch and it sees a GPU."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda
    return None


def _parse(device):
    """(backend, index) for an int, "cuda:0", "cuda", "cpu" or torch.device."""
    if isinstance(device, bool):
        raise TypeError(f"device must be an int, a string like 'cuda:0', a torch.device "
                        f"or a DeviceInfo; got {device!r}")
    if isinstance(device, int):
        return "cuda", device
    if isinstance(device, str):
        backend, _, index = device.strip().lower().partition(":")
        if backend not in _BACKENDS or (index and not index.isdigit()):
            raise ValueError(f"device must look like 'cpu', 'cuda', 'cuda:1' or 'musa:0'; "
                             f"got {device!r}")
        return backend, int(index) if index else None
    kind, index = getattr(device, "type", None), getattr(device, "index", None)
    if isinstance(kind, str):  # torch.device and look-alikes
        return _parse(kind if index is None else f"{kind}:{index}")
    raise TypeError(f"device must be an int, a string like 'cuda:0', a torch.device or a "
                    f"DeviceInfo; got {type(device).__name__}")


def resolve_device(device=None):
    """(backend, index), or a DeviceInfo given as such (simulated devices).

    None: torch's current CUDA device if torch is in use and has one, else
    the best device present. A backend without an index: its device 0
    (CUDA: torch's current device)."""
    if isinstance(device, DeviceInfo):
        return device
    if device is None:
        tc = _torch_cuda()
        if tc is not None:
            return "cuda", tc.current_device()
        best = _fa3jit.best_device()
        return best.backend, best.index
    backend, index = _parse(device)
    if index is None:
        tc = _torch_cuda() if backend == "cuda" else None
        index = tc.current_device() if tc is not None else 0
    return backend, index


def _lookup(where):
    """(DeviceInfo or None, why it is absent) for a resolved device."""
    if isinstance(where, DeviceInfo):
        return where, ""
    try:
        return _fa3jit.device_info(*where), ""
    except ValueError as e:  # not present
        return None, str(e)


def is_fa3_supported(device=None) -> bool:
    """Whether fa3jit runs on `device` (see resolve_device): CUDA sm_80+ with
    runtime >= 12.3, MUSA capability >= 3, or the CPU. Cached per device;
    False for a device that is not present."""
    where = resolve_device(device)
    if isinstance(where, DeviceInfo):
        return _fa3jit.is_fa3_supported(where)
    if where not in _supported:
        info, _ = _lookup(where)
        _supported[where] = info is not None and _fa3jit.is_fa3_supported(info)
    return _supported[where]


def split_workspace_bytes_bound(dv, device=None) -> int:
    """Bytes of a workspace that serves every call with num_splits = 0
    (auto) on `device` (see resolve_device) for value head dim dv: auto
    splits fill at most one wave, so SMs x 128 x (dv + 1) x 4 (8.7 MB for
    dv 128 on an H100); 0 on the CPU. Size one buffer with it and pass it
    as workspace= to every call of a serving loop."""
    info, why = _lookup(resolve_device(device))
    if info is None:
        raise ValueError(why)
    return int(_fa3jit.split_workspace_bytes_bound(info, int(dv)))


def explain_support(device=None) -> str:
    """Why fa3jit does or does not run on `device`, in words."""
    info, why = _lookup(resolve_device(device))
    return why if info is None else _fa3jit.explain_support(info)


def _device_dict(d: DeviceInfo) -> dict:
    return {
        "device": d.backend if d.backend == "cpu" else f"{d.backend}:{d.index}",
        "name": d.name,
        "capability": f"{d.major}.{d.minor}",
        "runtime_version": d.runtime_version,
        "sm_count": d.sm_count,
        "smem_per_block": d.smem_per_block,
        "supported": _fa3jit.is_fa3_supported(d),
        "explanation": _fa3jit.explain_support(d),
    }


def info(as_text: bool = False):
    """The devices fa3jit sees and what it would use, as a dict (or text)."""
    from ._native import check_metadata_enabled

    best = _fa3jit.best_device()
    d = {
        "version": _fa3jit.__version__,
        "devices": [_device_dict(x) for x in _fa3jit.query_devices()],
        "best_device": best.backend if best.backend == "cpu" else f"{best.backend}:{best.index}",
        "check_metadata": check_metadata_enabled(),
    }
    if not as_text:
        return d
    lines = [f"fa3jit {d['version']}", "devices:"]
    lines += [f"  {x['device']}: {x['explanation']}" for x in d["devices"]]
    lines.append(f"best device: {d['best_device']}")
    lines.append(f"metadata checks on GPU calls: {'on' if d['check_metadata'] else 'off'}")
    return "\n".join(lines)
