"""Turning user input into tensors, and PyTorch's promotion of operands to one dtype."""

from __future__ import annotations

import numpy as np

from flowgrad import dtypes
from flowgrad.dtypes import DType
from flowgrad.ops import elementwise as E
from flowgrad.tensor import Tensor

_PY_CATEGORY = {bool: 0, int: 1, float: 2}
_CATEGORY = {d.np: d.category for d in dtypes.ALL_DTYPES}


def as_tensor_like(value) -> Tensor:
    """``value`` as a tensor; Python scalars and arrays become constants."""
    if isinstance(value, Tensor):
        return value
    from flowgrad.functions.creation import tensor

    return tensor(value)


def cast(t: Tensor, dtype: DType) -> Tensor:
    """``t`` converted to ``dtype`` (differentiable; no copy when it already has it)."""
    np_dtype = dtype.np
    if t._data.dtype == np_dtype:
        return t
    return E.cast.bind(t, dtype=np_dtype, source=t._data.dtype)


_CONSTANTS: dict[tuple, Tensor] = {}  # read-only 0-d constants, by (type, value, dtype)


def scalar_operand(value, like: Tensor) -> Tensor | None:
    """A Python scalar as a constant of ``like``'s dtype, when promotion keeps that dtype.

    Constants are memoised: making a NumPy scalar costs more than the arithmetic on a small
    tensor, and optimizers and losses use the same few numbers on every step. The arrays are
    read-only, so a shared constant cannot change.
    """
    category = _PY_CATEGORY.get(type(value))
    dtype = like._data.dtype
    if category is None or category > _CATEGORY[dtype]:
        return None
    key = (type(value), value, dtype)
    constant = _CONSTANTS.get(key)
    if constant is None:
        try:
            array = np.array(value, dtype=dtype)
        except OverflowError:  # e.g. -100 against uint8: take the wide path in operands()
            return None
        array.flags.writeable = False
        constant = Tensor._wrap(array)
        if value == 0 and category == 2:  # 0.0 == -0.0 as keys, but not as factors
            return constant
        if len(_CONSTANTS) >= 4096:
            _CONSTANTS.clear()
        _CONSTANTS[key] = constant
    return constant


def operands(a, b) -> tuple[Tensor, Tensor]:
    """Two operands of a binary op as tensors of one dtype, promoted as PyTorch does."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype is b._data.dtype:
                return a, b
        else:
            constant = scalar_operand(b, a)
            if constant is not None:
                return a, constant
    elif isinstance(b, Tensor):
        constant = scalar_operand(a, b)
        if constant is not None:
            return constant, b
    dtype = dtypes.result_type(_promotable(a), _promotable(b))
    try:
        return _to_operand(a, dtype), _to_operand(b, dtype)
    except OverflowError:
        # A Python number that the narrow type cannot hold (uint8 tensor != -100): compute in
        # the widest type of the category instead of failing, as PyTorch's comparisons do.
        wide = dtypes.int64 if dtype.category == dtypes.INT else dtypes.float64
        return _to_operand(a, wide), _to_operand(b, wide)


def promote_all(*values) -> tuple[Tensor, ...]:
    """Any number of operands as tensors of one dtype (``where``, ``cat``, ...)."""
    dtype = dtypes.result_type(*(_promotable(v) for v in values))
    return tuple(_to_operand(v, dtype) for v in values)


def _promotable(value):
    """Tensors, arrays and Python numbers as promotion operands."""
    if isinstance(value, Tensor | np.ndarray | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return as_tensor_like(value)


def _to_operand(value, dtype: DType) -> Tensor:
    if isinstance(value, Tensor):
        return cast(value, dtype)
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value.astype(dtype.np, copy=False))
    if isinstance(value, bool | int | float | np.generic):
        return Tensor._wrap(np.asarray(value, dtype=dtype.np))
    return cast(as_tensor_like(value), dtype)


def to_float(t: Tensor) -> Tensor:
    """Integer and bool tensors as the default float dtype (for exp, sqrt, mean, ...)."""
    if t._data.dtype.kind == "f":
        return t
    return cast(t, dtypes.get_default_dtype())
