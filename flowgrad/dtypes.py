"""flowgrad's dtypes and PyTorch's type-promotion rules.

A :class:`DType` wraps a NumPy dtype. Promotion follows PyTorch: operands are ranked in three
tiers (tensors with dimensions, zero-dimensional tensors, Python scalars); the result is the
promotion of the highest tier, unless a lower tier holds a higher *category*
(bool < integer < floating), in which case that category's type is used. So
``float32_tensor * 2.5`` stays float32, and ``int32_tensor * 2.5`` becomes float32.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import DTypeError, at_user_site


class DType:
    """A tensor element type, such as ``fg.float32``."""

    __slots__ = ("name", "np", "category", "itemsize")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np = np_dtype
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.itemsize = np_dtype.itemsize

    @property
    def is_floating_point(self) -> bool:
        return self.category == 2

    def __repr__(self) -> str:
        return f"flowgrad.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.np,))


BOOL, INT, FLOAT = 0, 1, 2

bool_ = DType("bool", np.dtype(np.bool_), BOOL)
uint8 = DType("uint8", np.dtype(np.uint8), INT)
int8 = DType("int8", np.dtype(np.int8), INT)
int16 = DType("int16", np.dtype(np.int16), INT)
int32 = DType("int32", np.dtype(np.int32), INT)
int64 = DType("int64", np.dtype(np.int64), INT)
float16 = DType("float16", np.dtype(np.float16), FLOAT)
float32 = DType("float32", np.dtype(np.float32), FLOAT)
float64 = DType("float64", np.dtype(np.float64), FLOAT)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NUMPY = {d.np: d for d in ALL_DTYPES}
_CATEGORY_OF_NUMPY = {d.np: d.category for d in ALL_DTYPES}

_default_float = float32


def get_default_dtype() -> DType:
    """The dtype of floating-point tensors created from Python numbers (float32 by default)."""
    return _default_float


def set_default_dtype(dtype: DType) -> None:
    """Set the default floating-point dtype (``fg.float32`` or ``fg.float64``)."""
    global _default_float
    dtype = as_dtype(dtype)
    if not dtype.is_floating_point:
        raise DTypeError(f"set_default_dtype: expected a floating-point dtype, got {dtype}")
    _default_float = dtype


def from_numpy_dtype(np_dtype) -> DType:
    """The flowgrad dtype of a NumPy dtype; a clear error for unsupported ones."""
    try:
        return _BY_NUMPY[np_dtype]
    except (KeyError, TypeError):
        pass
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        supported = ", ".join(d.name for d in ALL_DTYPES)
        raise DTypeError(
            at_user_site(f"unsupported dtype {np_dtype!r}; flowgrad supports {supported}")
        ) from None


def as_dtype(dtype) -> DType:
    """Accept a flowgrad dtype, a NumPy dtype, a Python type or a name, return a DType."""
    if isinstance(dtype, DType):
        return dtype
    if dtype is float:
        return _default_float
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    return from_numpy_dtype(dtype)


_NAMES = {d.name: d for d in ALL_DTYPES} | {
    "float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
    "short": int16,
}


def promote_types(a: DType, b: DType) -> DType:
    """Promote two dtypes of the same tier: the higher category wins; within one, the wider."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NUMPY[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> DType:
    """The dtype PyTorch gives a Python scalar when it stands alone."""
    if isinstance(value, bool | np.bool_):
        return bool_
    if isinstance(value, int | np.integer):
        return int64
    if isinstance(value, float | np.floating):
        return _default_float
    raise DTypeError(at_user_site(f"expected a number, got {type(value).__name__}"))


def result_type(*operands) -> DType:
    """The dtype of an elementwise operation on tensors and Python scalars, as PyTorch.

    ``operands`` are tensors (anything with ``dtype`` and ``ndim``) or Python scalars.
    """
    tiers: list[DType | None] = [None, None, None]
    for operand in operands:
        if hasattr(operand, "dtype") and hasattr(operand, "ndim"):
            dtype = as_dtype(operand.dtype)
            tier = 1 if operand.ndim == 0 else 0  # unknown rank (None): a dimensioned tensor
        else:
            dtype, tier = scalar_dtype(operand), 2
        current = tiers[tier]
        tiers[tier] = dtype if current is None else promote_types(current, dtype)
    result = None
    for tier, dtype in enumerate(tiers):
        if dtype is None:
            continue
        if result is None:
            result = dtype
        elif dtype.category > result.category:
            # A lower tier of a higher category: tier 1 keeps its own type, scalars the default.
            result = dtype if tier == 1 else _category_default(dtype.category)
    return result


def _category_default(category: int) -> DType:
    return (bool_, int64, _default_float)[category]
