"""The capability gate from Python: simulated devices, device naming,
caching, info()."""

import subprocess
import sys

import pytest

import fa3jit
from fa3jit import DeviceInfo


def cuda(major, minor, runtime):
    return DeviceInfo(backend="cuda", name="sim", major=major, minor=minor,
                      runtime_version=runtime)


# The devices are built inside the test: pytest keeps parameters alive past
# the extension's teardown, which nanobind reports as leaked instances.
@pytest.mark.parametrize("fields, supported, words", [
    (dict(backend="cuda", major=9, minor=0, runtime_version=12040), True, "Hopper"),
    (dict(backend="cuda", major=8, minor=0, runtime_version=12030), True, "portable"),
    (dict(backend="cuda", major=8, minor=9, runtime_version=12100), True, "portable"),  # 12.10 > 12.3
    (dict(backend="cuda", major=7, minor=5, runtime_version=12040), False, "sm_75 is below sm_80"),
    (dict(backend="cuda", major=9, minor=0, runtime_version=12020), False, "12.2 is below 12.3"),
    (dict(backend="musa", name="MTT S5000", major=3, minor=1), True, ""),
    (dict(backend="musa", name="MTT S4000", major=2, minor=2), False, "below 3"),
    (dict(backend="cpu", name="host"), True, "CPU"),
])
def test_gate_on_simulated_devices(fields, supported, words):
    device = DeviceInfo(**{"name": "sim", **fields})
    assert fa3jit.is_fa3_supported(device) is supported
    assert words in fa3jit.explain_support(device)


def test_device_info_fields_and_repr():
    d = cuda(9, 0, 12040)
    assert (d.backend, d.major, d.minor, d.runtime_version) == ("cuda", 9, 0, 12040)
    assert "backend='cuda'" in repr(d)
    with pytest.raises(ValueError, match="backend"):
        DeviceInfo(backend="tpu")


def test_cpu_is_always_present_and_supported():
    devices = fa3jit.query_devices()
    assert devices[0].backend == "cpu"
    assert fa3jit.is_fa3_supported("cpu")
    assert "supported" in fa3jit.explain_support("cpu")


def test_default_device_is_supported_best_device():
    best = fa3jit.best_device()
    assert fa3jit.is_fa3_supported() == fa3jit.is_fa3_supported(best)
    assert isinstance(fa3jit.explain_support(), str)


def test_device_spellings_agree():
    names = ["cuda", "cuda:0", 0, "CUDA:0"]
    answers = {fa3jit.is_fa3_supported(n) for n in names}
    assert len(answers) == 1


class TorchLikeDevice:  # what torch.device offers: .type and .index
    type, index = "cuda", 0


def test_torch_device_like_objects():
    assert fa3jit.is_fa3_supported(TorchLikeDevice()) == fa3jit.is_fa3_supported("cuda:0")


def test_absent_device_is_unsupported_with_reason():
    assert fa3jit.is_fa3_supported("cuda:63") is False
    assert "not present" in fa3jit.explain_support("cuda:63")


def test_cached_per_device():
    from fa3jit import devices

    fa3jit.is_fa3_supported("cpu")
    assert devices._supported[("cpu", 0)] is True


@pytest.mark.parametrize("bad, exc", [("gpu:0", ValueError), ("cuda:x", ValueError),
                                      (True, TypeError), (1.5, TypeError)])
def test_bad_device_names(bad, exc):
    with pytest.raises(exc, match="device"):
        fa3jit.is_fa3_supported(bad)


def test_info_lists_devices():
    d = fa3jit.info()
    assert d["version"] == fa3jit.__version__
    assert d["devices"][0]["device"] == "cpu" and d["devices"][0]["supported"]
    assert d["best_device"] in [x["device"] for x in d["devices"]]
    text = fa3jit.info(as_text=True)
    assert "best device" in text


def test_python_dash_m_prints_info():
    r = subprocess.run([sys.executable, "-m", "fa3jit"], capture_output=True, text=True,
                       check=True)
    assert r.stdout.startswith("fa3jit ") and "cpu:" in r.stdout
