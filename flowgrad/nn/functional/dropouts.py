"""Dropout: zero random elements (or whole channels) while training, scaling the kept ones by
``1 / (1 - p)`` so the expected value is unchanged; the identity in evaluation.

Masks are drawn from flowgrad's default generator (or ``generator=``), so ``fg.manual_seed``
makes them reproducible. The mask is a constant: the gradient is the same mask times the
upstream gradient (one multiplication forward, one backward).
"""

from __future__ import annotations

import numpy as np

from flowgrad import random as fg_random
from flowgrad.errors import DTypeError, GraphError, ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.random import Generator
from flowgrad.tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]

# SELU's negative saturation value -scale * alpha: alpha dropout sets dropped units to it.
_SELU_SATURATION = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _check_p(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x: Tensor, p: float, mask_shape: tuple, generator: Generator | None
               ) -> np.ndarray:
    """``1 / (1 - p)`` where an element is kept (probability ``1 - p``), 0 where dropped."""
    dtype = x._data.dtype
    if dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"dropout: expected a floating-point tensor, got {dtype}; convert it with .float()"
        ))
    _check_eager("dropout", x)
    draw_dtype = np.float32 if dtype == np.float32 else np.float64  # what NumPy can draw
    draws = fg_random.resolve(generator).random(mask_shape, dtype=draw_dtype)
    scale = dtype.type(1.0 / (1.0 - p))
    return np.where(draws >= p, scale, dtype.type(0))


def _check_eager(name: str, x: Tensor) -> None:
    """A GraphError for a graph's input: a mask drawn now would be one constant, the same in
    every run, where training needs a new one each time (graphs cannot draw at run time yet)."""
    if type(x._data) is not np.ndarray:
        raise GraphError(at_user_site(
            f"{name}: in training mode dropout draws a new random mask for every batch, which "
            f"a graph cannot do yet (a mask drawn while building would be the same in every "
            f"run); call .eval() on the layer (or training=False) in graph mode"
        ))


def _apply(x: Tensor, mask: np.ndarray, inplace: bool) -> Tensor:
    constant = Tensor._wrap(mask)
    return x.mul_(constant) if inplace else x * constant


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator: Generator | None = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> _ = fg.manual_seed(0)
    >>> y = F.dropout(fg.ones(1000), p=0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(fg.ones(3), p=0.5, training=False)
    tensor([1., 1., 1.])
    """
    _check_p("dropout", p)
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.mul_(0.0) if inplace else x * 0.0
    return _apply(x, _keep_mask(x, p, x.shape, generator), inplace)


def _feature_dropout(name: str, input: Tensor, p: float, training: bool, inplace: bool,
                     ranks: tuple[int, ...], generator: Generator | None) -> Tensor:
    """Drop whole channels: one draw per (sample, channel), or per channel if unbatched."""
    _check_p(name, p)
    x = as_tensor(input)
    if x.ndim not in ranks:
        raise ShapeError(at_user_site(
            f"{name}: expected {' or '.join(f'{r}-D' for r in ranks)} input, got shape "
            f"{tuple(x.shape)}"
        ))
    if not training or p == 0.0:
        return x
    batched = x.ndim == ranks[-1]
    channel_dims = 2 if batched else 1
    mask_shape = tuple(x.shape[:channel_dims]) + (1,) * (x.ndim - channel_dims)
    if p == 1.0:
        return x.mul_(0.0) if inplace else x * 0.0
    return _apply(x, _keep_mask(x, p, mask_shape, generator), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` (or ``(C, L)``) input with probability ``p``."""
    return _feature_dropout("dropout1d", input, p, training, inplace, (2, 3), generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` (or unbatched ``(C, H, W)``, as PyTorch documents
    it) input with probability ``p``."""
    return _feature_dropout("dropout2d", input, p, training, inplace, (3, 4), generator)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) input."""
    return _feature_dropout("dropout3d", input, p, training, inplace, (4, 5), generator)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  *, generator: Generator | None = None) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value and an affine
    map keeps the mean and variance of the input (Klambauer et al., 2017)."""
    _check_p("alpha_dropout", p)
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.mul_(0.0) if inplace else x * 0.0
    _check_eager("alpha_dropout", x)
    dtype = x._data.dtype
    keep = fg_random.resolve(generator).random(x.shape) >= p
    a = ((1 - p) * (1 + p * _SELU_SATURATION ** 2)) ** -0.5
    b = -a * _SELU_SATURATION * p
    scale = Tensor._wrap(np.where(keep, a, 0.0).astype(dtype))
    offset = Tensor._wrap(np.where(keep, b, a * _SELU_SATURATION + b).astype(dtype))
    if inplace:
        return x.mul_(scale).add_(offset)
    return x * scale + offset
