"""dtypes and PyTorch's type promotion: tensors, 0-d tensors and Python scalars."""

import itertools

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import DTypeError

DTYPES = ["float32", "float64", "float16", "int32", "int64", "bool", "uint8", "int8", "int16"]
SCALARS = [True, 3, 2.5]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def fg_dtype(name: str):
    return fg.bool_ if name == "bool" else getattr(fg, name)


def operand(module, name: str, zero_dim: bool):
    """A tensor of dtype ``name`` (0-d or with dimensions) from flowgrad or torch."""
    dtype = fg_dtype(name) if module is fg else getattr(module, name)
    return module.ones((), dtype=dtype) if zero_dim else module.ones(2, dtype=dtype)


def test_dtype_objects():
    assert fg.get_default_dtype() is fg.float32
    assert fg.tensor([1.0]).dtype is fg.float32
    assert repr(fg.float32) == "flowgrad.float32"
    assert fg.float64.is_floating_point and not fg.int32.is_floating_point
    assert fg.float16.itemsize == 2 and fg.int64.itemsize == 8
    assert (fg.bool is fg.bool_, fg.float is fg.float32, fg.double is fg.float64,
            fg.long is fg.int64, fg.half is fg.float16, fg.int is fg.int32) == (True,) * 6
    for name in ["float32", "float64", "float16", "int32", "int64", "bool"]:
        assert fg.ones(1, dtype=fg_dtype(name)).numpy().dtype == np.dtype(name)


def test_set_default_dtype_changes_float_inference():
    try:
        fg.set_default_dtype(fg.float64)
        assert fg.tensor([1.0]).dtype is fg.float64
        assert fg.ones(2).dtype is fg.float64
        assert (fg.tensor([1, 2], dtype=fg.int32) * 2.5).dtype is fg.float64
        with pytest.raises(DTypeError):
            fg.set_default_dtype(fg.int32)
    finally:
        fg.set_default_dtype(fg.float32)
    assert fg.tensor([1.0]).dtype is fg.float32


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: fg.ones(2) * 2.5, fg.float32),  # Python scalars do not upcast
        (lambda: fg.ones(2, dtype=fg.int32) * 2.5, fg.float32),  # ... but lift the category
        (lambda: fg.ones(2, dtype=fg.int32) + 3, fg.int32),
        (lambda: fg.ones(2, dtype=fg.int32) + fg.ones(2, dtype=fg.int64), fg.int64),
        (lambda: fg.ones(2, dtype=fg.int64) / fg.ones(2, dtype=fg.int64), fg.float32),
        (lambda: fg.ones(2, dtype=fg.int32) / 2, fg.float32),
        (lambda: fg.ones(2, dtype=fg.bool_) + 1, fg.int64),
        (lambda: fg.ones(2, dtype=fg.bool_) * 1.5, fg.float32),
        (lambda: fg.ones(2, dtype=fg.float16) * 2.5, fg.float16),
        (lambda: fg.ones(2, dtype=fg.float16) + fg.ones(2), fg.float32),
        (lambda: fg.ones(2) + fg.ones(2, dtype=fg.float64), fg.float64),
        (lambda: fg.ones(2) + fg.tensor(1.0, dtype=fg.float64), fg.float32),  # 0-d: no upcast
        (lambda: fg.ones(2, dtype=fg.int32) + fg.tensor(1.0, dtype=fg.float64), fg.float64),
        (lambda: fg.tensor(1, dtype=fg.int32) + fg.tensor(1, dtype=fg.int64), fg.int64),
        (lambda: 2.5 * fg.ones(2, dtype=fg.int64), fg.float32),
        (lambda: 1 - fg.ones(2, dtype=fg.uint8), fg.uint8),
        (lambda: fg.ones(2, dtype=fg.int8) + fg.ones(2, dtype=fg.uint8), fg.int16),
    ],
)
def test_promotion_hand_written_cases(make, expected):
    assert make().dtype is expected


def test_promotion_values_are_computed_in_the_result_dtype():
    t = fg.tensor([1, 2, 3], dtype=fg.int32)
    assert (t * 2.5).tolist() == [2.5, 5.0, 7.5]
    assert (t / 2).tolist() == [0.5, 1.0, 1.5]
    assert (fg.tensor([True, False]) + 1).tolist() == [2, 1]
    big = fg.tensor([2**40], dtype=fg.int64) + fg.tensor([1], dtype=fg.int32)
    assert big.item() == 2**40 + 1


def test_result_type_function():
    assert fg.result_type(fg.ones(2, dtype=fg.int32), 2.5) is fg.float32
    assert fg.result_type(fg.ones(2, dtype=fg.int32), fg.ones(2, dtype=fg.int64)) is fg.int64
    assert fg.result_type(fg.ones(2), fg.tensor(1.0, dtype=fg.float64)) is fg.float32
    assert fg.result_type(fg.ones(2, dtype=fg.bool_), 1) is fg.int64
    assert fg.result_type(fg.ones(2, dtype=fg.bool_), True) is fg.bool_
    assert fg.promote_types(fg.int32, fg.float16) is fg.float16
    assert fg.promote_types(fg.uint8, fg.int8) is fg.int16


def _table():
    """(dtype of a tensor with dims, other operand: a tensor / 0-d tensor dtype, or a scalar)."""
    for left, right in itertools.product(DTYPES, DTYPES):
        yield left, ("tensor", right)
        yield left, ("0-d", right)
    for left, scalar in itertools.product(DTYPES, SCALARS):
        yield left, ("scalar", scalar)


def _other(module, kind, value):
    return value if kind == "scalar" else operand(module, value, kind == "0-d")


@pytest.mark.torch
def test_result_type_matches_torch_on_the_whole_table(torch):
    mismatches = []
    for left, (kind, value) in _table():
        ours = fg.result_type(operand(fg, left, False), _other(fg, kind, value))
        theirs = torch.result_type(operand(torch, left, False), _other(torch, kind, value))
        if ours.name != str(theirs).split(".")[-1]:
            mismatches.append((left, kind, value, ours, theirs))
    assert not mismatches


@pytest.mark.torch
@pytest.mark.parametrize("zero_dim_left", [False, True])
def test_operator_result_dtypes_match_torch(torch, zero_dim_left):
    ops = {
        "add": lambda a, b: a + b,
        "radd": lambda a, b: b + a,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "eq": lambda a, b: a == b,
        "maximum": lambda a, b: a.maximum(b),  # tensors only, as torch.maximum
    }
    mismatches = []
    for left, (kind, value) in _table():
        for name, op in ops.items():
            if name == "maximum" and kind == "scalar":
                continue
            theirs = op(operand(torch, left, zero_dim_left), _other(torch, kind, value))
            ours = op(operand(fg, left, zero_dim_left), _other(fg, kind, value))
            if ours.dtype.name != str(theirs.dtype).split(".")[-1]:
                mismatches.append((name, left, kind, value, ours.dtype, theirs.dtype))
            elif ours.shape != tuple(theirs.shape):
                mismatches.append((name, left, kind, value, ours.shape, tuple(theirs.shape)))
    assert not mismatches


def test_unsupported_numpy_dtype_is_a_dtype_error():
    with pytest.raises(DTypeError, match="unsupported dtype"):
        fg.tensor(np.array([1, 2], dtype=np.uint32))
    assert issubclass(DTypeError, TypeError)
