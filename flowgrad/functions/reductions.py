"""Reductions with ``dim`` (int, tuple, negative allowed, None for all) and ``keepdim``."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from flowgrad import dtypes
from flowgrad.errors import DTypeError, at_user_site
from flowgrad.functions._convert import as_tensor_like, cast, to_float
from flowgrad.functions.elementwise import exp, log, sqrt, where
from flowgrad.ops import reduce as R
from flowgrad.ops import softmax as S
from flowgrad.ops.rules import normalize_axes, normalize_axis
from flowgrad.tensor import Tensor

#: The result of ``max(dim=...)`` / ``min(dim=...)``: ``values`` and ``indices``.
ReturnValues = namedtuple("ReturnValues", ["values", "indices"])


def _axes(op: str, x: Tensor, dim):
    if isinstance(dim, list | tuple) and len(dim) == 0:
        return None  # PyTorch: an empty dim list reduces everything
    axes = normalize_axes(op, dim, x._data.ndim)
    if axes is not None and x._data.ndim == 0:
        return None  # dim 0 or -1 of a scalar: nothing to reduce but the scalar itself
    return axes


def _widen_integers(x: Tensor) -> Tensor:
    """Integer and bool sums and products accumulate in int64, as in PyTorch."""
    return cast(x, dtypes.int64) if x._data.dtype.kind in "biu" else x


def sum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default).

    >>> import flowgrad as fg
    >>> fg.tensor([[1., 2.], [3., 4.]]).sum(dim=-1)
    tensor([3., 7.])
    """
    x = as_tensor_like(input)
    x = cast(x, dtypes.as_dtype(dtype)) if dtype is not None else _widen_integers(x)
    return R.sum_.bind(x, axes=_axes("sum", x, dim), keepdim=bool(keepdim))


def prod(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over ``dim``; the gradient is exact where inputs are zero."""
    x = as_tensor_like(input)
    x = cast(x, dtypes.as_dtype(dtype)) if dtype is not None else _widen_integers(x)
    return R.prod.bind(x, axes=_axes("prod", x, dim), keepdim=bool(keepdim))


def _float_only(op: str, x: Tensor) -> None:
    if x._data.dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"{op}: expected a floating-point tensor, got {x._data.dtype}; call .float() first"
        ))


def _count(x: Tensor, axes) -> int | Tensor:
    shape = x._data.shape
    if shape is None or None in (shape if axes is None else [shape[a] for a in axes]):
        return R.count.bind(x.detach(), axes=axes, dtype=x._data.dtype)  # known at run time
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; integer tensors need ``dtype=`` (as in PyTorch)."""
    x = as_tensor_like(input)
    if dtype is not None:
        x = cast(x, dtypes.as_dtype(dtype))
    _float_only("mean", x)
    axes = _axes("mean", x, dim)
    total = R.sum_.bind(x, axes=axes, keepdim=bool(keepdim))
    return total / _count(x, axes)


def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default, as PyTorch)."""
    x = as_tensor_like(input)
    _float_only("var", x)
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes("var", x, dim)
    centered = x - R.sum_.bind(x, axes=axes, keepdim=True) / _count(x, axes)
    squares = R.sum_.bind(centered * centered, axes=axes, keepdim=bool(keepdim))
    count = _count(x, axes)
    if isinstance(count, Tensor):  # known at run time
        return squares / (count - correction).clamp(min=0)
    return squares / builtins.max(count - correction, 0)


def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))``."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def amax(input, dim=None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient evenly."""
    x = as_tensor_like(input)
    return R.amax.bind(x, axes=_axes("amax", x, dim), keepdim=bool(keepdim))


def amin(input, dim=None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; tied minima share the gradient evenly."""
    x = as_tensor_like(input)
    return R.amin.bind(x, axes=_axes("amin", x, dim), keepdim=bool(keepdim))


def argmax(input, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    x = as_tensor_like(input)
    return R.argmax.bind(x, axes=_single_axis("argmax", x, dim), keepdim=bool(keepdim))


def argmin(input, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    x = as_tensor_like(input)
    return R.argmin.bind(x, axes=_single_axis("argmin", x, dim), keepdim=bool(keepdim))


def _single_axis(op: str, x: Tensor, dim):
    if dim is not None and not isinstance(dim, int | np.integer):
        raise TypeError(f"{op}: dim must be an int or None, got {dim!r}")
    return _axes(op, x, dim)


def _extremum_with_indices(op: str, arg_fn, x: Tensor, dim: int, keepdim: bool):
    from flowgrad.functions.indexing import gather

    indices = arg_fn(x, dim, keepdim=True)
    values = gather(x, dim, indices)
    if not keepdim and x._data.ndim:
        values = values.squeeze(dim)
        indices = indices.squeeze(dim)
    return ReturnValues(values, indices)


def max(input, dim=None, keepdim: bool = False):
    """``max(x)``: the largest element; ``max(x, dim)``: ``(values, indices)``;
    ``max(x, other)``: elementwise maximum.

    Along ``dim`` the gradient goes to the element at ``indices``, as in PyTorch.
    """
    x = as_tensor_like(input)
    if dim is None:
        return amax(x)
    if isinstance(dim, Tensor):
        from flowgrad.functions.elementwise import maximum

        return maximum(x, dim)
    return _extremum_with_indices("max", argmax, x, dim, keepdim)


def min(input, dim=None, keepdim: bool = False):
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or ``min(x, other)``."""
    x = as_tensor_like(input)
    if dim is None:
        return amin(x)
    if isinstance(dim, Tensor):
        from flowgrad.functions.elementwise import minimum

        return minimum(x, dim)
    return _extremum_with_indices("min", argmin, x, dim, keepdim)


def logsumexp(input, dim=None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed stably (shifted by the maximum)."""
    x = to_float(as_tensor_like(input))
    axes = _axes("logsumexp", x, dim)
    shape = x._data.shape
    if shape is None or 0 not in (shape if axes is None else [shape[a] for a in axes]):
        shift = R.amax.bind(x, axes=axes, keepdim=True).detach()
        # Infinite maxima shift by 0 (|shift| < inf is isfinite, as a graph can compute it).
        finite = shift.isfinite() if type(shift._data) is np.ndarray else shift.abs() < math.inf
        shift = where(finite, shift, 0.0)
    else:  # an empty sum (amax has no identity here): log(0) = -inf, as in PyTorch
        shift = R.sum_.bind(x.detach(), axes=axes, keepdim=True)  # zeros of the right shape
    total = R.sum_.bind(exp(x - shift), axes=axes, keepdim=True)
    result = log(total) + shift
    if not keepdim:
        result = result.reshape(tuple(d for i, d in enumerate(result.shape)
                                      if axes is not None and i not in axes))
    return result


def all(input, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element (along ``dim``) is nonzero."""
    x = as_tensor_like(input)
    return R.all_.bind(x, axes=_axes("all", x, dim), keepdim=bool(keepdim))


def any(input, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element (along ``dim``) is nonzero."""
    x = as_tensor_like(input)
    return R.any_.bind(x, axes=_axes("any", x, dim), keepdim=bool(keepdim))


def count_nonzero(input, dim=None) -> Tensor:
    return sum(as_tensor_like(input) != 0, dim)


def norm(input, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The vector p-norm over ``dim`` (2 by default; ``float('inf')`` for the max norm)."""
    x = to_float(as_tensor_like(input))
    if p == float("inf"):
        return amax(x.abs(), dim, keepdim)
    if p == 2:
        return sqrt(sum(x * x, dim, keepdim))
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    return sum(x.abs() ** p, dim, keepdim) ** (1.0 / p)


def log_softmax(input, dim: int) -> Tensor:
    """``x - logsumexp(x, dim)``: log-probabilities along ``dim``, one fused kernel.

    >>> import flowgrad as fg
    >>> fg.log_softmax(fg.tensor([0.0, 0.0]), dim=0).exp()
    tensor([0.5000, 0.5000])
    """
    x = to_float(as_tensor_like(input))
    if x._data.ndim == 0:
        return x - x  # log_softmax of a single value is 0
    return S.log_softmax.bind(x, axis=normalize_axis("log_softmax", dim, x._data.ndim))


def softmax(input, dim: int) -> Tensor:
    """Probabilities along ``dim``: ``exp(x - max) / sum(exp(x - max))``.

    >>> import flowgrad as fg
    >>> fg.softmax(fg.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return S.softmax_exp.bind(log_softmax(input, dim))
