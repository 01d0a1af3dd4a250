"""Elementwise functions: arithmetic with PyTorch promotion, math, comparisons, where, clamp."""

from __future__ import annotations

from flowgrad import dtypes
from flowgrad.errors import DTypeError, at_user_site
from flowgrad.functions._convert import as_tensor_like, cast, operands, promote_all, to_float
from flowgrad.ops import elementwise as E
from flowgrad.ops import special
from flowgrad.tensor import Tensor


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other``, broadcasting.

    >>> import flowgrad as fg
    >>> fg.add(fg.tensor([1, 2]), fg.tensor([10, 20]), alpha=2)
    tensor([21, 42])
    """
    if isinstance(alpha, Tensor) or alpha != 1:  # a tensor alpha: a traced learning rate
        other = mul(other, _scalar_like(alpha, other))
    return E.add.bind(*operands(input, other))


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    if isinstance(alpha, Tensor) or alpha != 1:
        other = mul(other, _scalar_like(alpha, other))
    a, b = operands(input, other)
    if a._data.dtype.kind == "b":
        raise DTypeError(at_user_site(
            "sub: subtracting bool tensors is not supported; use ^ (logical xor) or ~"
        ))
    return E.sub.bind(a, b)


def _scalar_like(alpha, other):
    """A 0-d float tensor ``alpha`` (a traced learning rate, fed as float64) in the float
    dtype of ``other``: the product is then what a Python-float alpha gives eagerly, and a
    float32 update stays float32 instead of casting there and back."""
    if (isinstance(alpha, Tensor) and isinstance(other, Tensor) and alpha.ndim == 0
            and alpha.dtype.is_floating_point and other.dtype.is_floating_point):
        return cast(alpha, other.dtype)
    return alpha


def mul(input, other) -> Tensor:
    """Elementwise product, broadcasting."""
    return E.mul.bind(*operands(input, other))


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give the default float), or ``'floor'``/``'trunc'`` rounding."""
    a, b = operands(input, other)
    if rounding_mode == "floor":
        return E.floor_divide.bind(a, b)
    if rounding_mode == "trunc":
        quotient = E.div.bind(to_float(a), to_float(b))
        truncated = where(quotient < 0, ceil(quotient), floor(quotient))
        return cast(truncated, dtypes.from_numpy_dtype(a._data.dtype))
    if rounding_mode is not None:
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    return E.div.bind(to_float(a), to_float(b))


true_divide = divide = div
multiply = mul
subtract = sub


def floor_divide(input, other) -> Tensor:
    return E.floor_divide.bind(*operands(input, other))


def remainder(input, other) -> Tensor:
    """Python's ``%``: the result has the sign of the divisor."""
    return E.remainder.bind(*operands(input, other))


def pow(input, exponent) -> Tensor:
    """``input ** exponent``, elementwise."""
    if isinstance(input, Tensor) and type(exponent) in (int, float) and exponent == 2:
        return E.mul.bind(input, input)
    return E.pow_.bind(*operands(input, exponent))


def maximum(input, other) -> Tensor:
    """Elementwise maximum; ties share the gradient."""
    return E.maximum.bind(*operands(input, other))


def minimum(input, other) -> Tensor:
    """Elementwise minimum; ties share the gradient."""
    return E.minimum.bind(*operands(input, other))


def eq(input, other) -> Tensor:
    return E.eq.bind(*operands(input, other))


def ne(input, other) -> Tensor:
    return E.ne.bind(*operands(input, other))


def lt(input, other) -> Tensor:
    return E.lt.bind(*operands(input, other))


def le(input, other) -> Tensor:
    return E.le.bind(*operands(input, other))


def gt(input, other) -> Tensor:
    return E.gt.bind(*operands(input, other))


def ge(input, other) -> Tensor:
    return E.ge.bind(*operands(input, other))


less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def bitwise_and(input, other) -> Tensor:
    return E.bitwise_and.bind(*operands(input, other))


def bitwise_or(input, other) -> Tensor:
    return E.bitwise_or.bind(*operands(input, other))


def bitwise_xor(input, other) -> Tensor:
    return E.bitwise_xor.bind(*operands(input, other))


def bitwise_not(input) -> Tensor:
    return E.invert.bind(as_tensor_like(input))


def logical_and(input, other) -> Tensor:
    return bitwise_and(ne(input, 0), ne(other, 0))


def logical_or(input, other) -> Tensor:
    return bitwise_or(ne(input, 0), ne(other, 0))


def logical_not(input) -> Tensor:
    return eq(input, 0)


def neg(input) -> Tensor:
    x = as_tensor_like(input)
    if x._data.dtype.kind == "b":
        raise DTypeError(at_user_site("neg: negating a bool tensor is not supported; use ~"))
    return E.neg.bind(x)


negative = neg


def _float_unary(primitive):
    def fn(input) -> Tensor:
        return primitive.bind(to_float(as_tensor_like(input)))

    fn.__name__ = primitive.name
    fn.__doc__ = f"Elementwise {primitive.name}; integer input becomes the default float dtype."
    return fn


exp = _float_unary(E.exp)
log = _float_unary(E.log)
log1p = _float_unary(E.log1p)
sqrt = _float_unary(E.sqrt)
sin = _float_unary(E.sin)
cos = _float_unary(E.cos)
tanh = _float_unary(E.tanh)
sigmoid = _float_unary(E.sigmoid)
reciprocal = _float_unary(E.reciprocal)
erf = _float_unary(special.erf)


def rsqrt(input) -> Tensor:
    """``1 / sqrt(input)``."""
    return reciprocal(sqrt(input))


def relu(input) -> Tensor:
    """``max(input, 0)``."""
    return E.relu.bind(as_tensor_like(input))


def abs(input) -> Tensor:
    x = as_tensor_like(input)
    return x if x._data.dtype.kind == "b" else E.abs_.bind(x)


absolute = abs


def sign(input) -> Tensor:
    return E.sign.bind(as_tensor_like(input))


def _rounding(primitive):
    def fn(input) -> Tensor:
        x = as_tensor_like(input)
        return primitive.bind(x) if x._data.dtype.kind == "f" else E.copy.bind(x)

    fn.__name__ = primitive.name
    fn.__doc__ = f"Elementwise {primitive.name} (integer tensors are returned as a copy)."
    return fn


floor = _rounding(E.floor)
ceil = _rounding(E.ceil)
_round_half_even = _rounding(E.round_)


def round(input, *, decimals: int = 0) -> Tensor:
    """Round half to even, as PyTorch and NumPy do; ``decimals`` shifts the rounding place."""
    if decimals == 0:
        return _round_half_even(input)
    scale = 10.0 ** decimals
    return _round_half_even(mul(input, scale)) / scale


def clamp(input, min=None, max=None) -> Tensor:
    """Clip values to ``[min, max]``; the gradient passes where the input is inside."""
    x = as_tensor_like(input)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None:
            x = where(lt(x, min), *promote_all(min, x))
        if max is not None:
            x = where(gt(x, max), *promote_all(max, x))
        return x
    if x._data.dtype.kind != "f" and any(isinstance(v, float) for v in (min, max)):
        x = to_float(x)
    kind = x._data.dtype.type
    low = None if min is None else kind(min)
    high = None if max is None else kind(max)
    return E.clip.bind(x, low=low, high=high)


clip = clamp


def where(condition, input=None, other=None) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcasting)."""
    if input is None and other is None:
        from flowgrad.functions.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    condition = as_tensor_like(condition)
    if condition._data.dtype.kind != "b":
        condition = ne(condition, 0)
    a, b = _where_operands(input, other)
    return E.where.bind(condition, a, b)


def _where_operands(a, b) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        return operands(a, b)
    if isinstance(b, Tensor) and not isinstance(a, Tensor):
        return operands(a, b)
    return promote_all(a, b)


def square(input) -> Tensor:
    """``input * input``."""
    x = as_tensor_like(input)
    return mul(x, x)


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (an optimizer's running average of squares)."""
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (an adaptive optimizer's parameter update)."""
    return add(input, mul(div(tensor1, tensor2), value))
