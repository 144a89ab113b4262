"""fa3jit::Error reaches Python as the exception its kind names, with the
C++ message; nothing is written to `out` on error."""

import numpy as np
import pytest

import fa3jit
from fa3jit import _fa3jit
from problems import Case, build


@pytest.mark.parametrize("kind, exc", [
    (_fa3jit.ErrorKind.InvalidValue, ValueError),
    (_fa3jit.ErrorKind.InvalidType, TypeError),
    (_fa3jit.ErrorKind.NotSupported, NotImplementedError),
    (_fa3jit.ErrorKind.Runtime, RuntimeError),
])
def test_error_kind_maps_to_exception_with_message_unchanged(kind, exc):
    message = "argument x must be y: got z"
    with pytest.raises(exc) as info:
        _fa3jit._raise_error(kind, message)
    assert type(info.value) is exc
    assert str(info.value) == message


def call(a, **overrides):
    kw = dict(q=a["q"], k=a["k"], v=a["v"], cu_seqlens_q=a["cu_seqlens_q"],
              cu_seqlens_k=a["cu_seqlens_k"])
    kw.update(overrides)
    return fa3jit.flash_attn_varlen_func(**kw)


def poisoned_out(a):
    return np.full(a["q"].shape[:-1] + (a["v"].shape[-1],), -7.0, dtype=a["q"].dtype)


def test_decreasing_cu_seqlens_is_value_error_and_out_untouched():
    a, _ = build(Case())
    out = poisoned_out(a)
    bad = a["cu_seqlens_q"].copy()
    bad[2] = bad[1] - 1
    with pytest.raises(ValueError, match="cu_seqlens_q"):
        call(a, cu_seqlens_q=bad, out=out)
    assert (out == -7.0).all()


def test_int64_metadata_is_type_error_naming_it():
    a, _ = build(Case())
    with pytest.raises(TypeError, match="cu_seqlens_k"):
        call(a, cu_seqlens_k=a["cu_seqlens_k"].astype(np.int64))


def test_float64_input_is_type_error_naming_it():
    a, _ = build(Case())
    with pytest.raises(TypeError, match="^q "):
        call(a, q=a["q"].astype(np.float64))


def test_mismatched_dtypes_are_type_error():
    a, _ = build(Case())
    with pytest.raises(TypeError, match="k"):
        call(a, k=a["k"].astype(np.float16))


def test_unsupported_head_dim_is_not_implemented():
    a, _ = build(Case(d=12))
    with pytest.raises(NotImplementedError, match="d"):
        call(a)


def test_head_count_not_a_multiple_is_value_error():
    a, _ = build(Case(h=3, h_k=2))
    with pytest.raises(ValueError, match="h_k|heads"):
        call(a)


def test_bad_rank_is_value_error_naming_q():
    a, _ = build(Case())
    with pytest.raises(ValueError, match="q"):
        call(a, q=a["q"][:, 0])


def test_page_id_out_of_range_is_value_error_and_out_untouched():
    a, _ = build(Case(page_size=4))
    table = a["page_table"].copy()
    table[0, 0] = a["k"].shape[0] + 5
    out = poisoned_out(a)
    with pytest.raises(ValueError, match="page_table"):
        call(a, cu_seqlens_k=None, page_table=table, seqused_k=a["seqused_k"], out=out)
    assert (out == -7.0).all()


def test_wrong_out_shape_is_value_error_naming_out():
    a, _ = build(Case())
    out = np.zeros(a["q"].shape[:-1] + (a["v"].shape[-1] + 8,), dtype=a["q"].dtype)
    with pytest.raises(ValueError, match="out"):
        call(a, out=out)


def test_read_only_out_is_type_error_naming_out():
    a, _ = build(Case())
    out = poisoned_out(a)
    out.flags.writeable = False
    with pytest.raises(TypeError, match="^out must be a writable array"):
        call(a, out=out)


def test_non_array_is_type_error_naming_it():
    a, _ = build(Case())
    with pytest.raises(TypeError, match="^sinks must be an array"):
        call(a, sinks="not an array")


def test_window_below_minus_one_is_value_error():
    a, _ = build(Case())
    with pytest.raises(ValueError, match="window_size"):
        call(a, window_size=(-2, 0))


def test_none_q_is_value_error():
    a, _ = build(Case())
    with pytest.raises(ValueError, match="^q must be given"):
        call(a, q=None)


def test_torch_op_shape_error_names_q():
    """The fake/real torch kernels' own shape check (torch only)."""
    torch = pytest.importorskip("torch")
    q = torch.zeros(4, 8)
    with pytest.raises(ValueError, match="q must be"):
        fa3jit.flash_attn_varlen_func(q, q, q, None, None)
