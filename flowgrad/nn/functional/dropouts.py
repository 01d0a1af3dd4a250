"""Dropout: zero random elements (or whole channels) while training, scaling the kept ones by
``1 / (1 - p)`` so the expected value is unchanged; the identity in evaluation.

Masks are drawn by the ``keep_mask`` primitive from flowgrad's default generator (or
``generator=``), so ``fg.manual_seed`` makes them reproducible, and a graph draws a new mask at
every run. The gradient is the same mask times the upstream gradient (one multiplication
forward, one backward).
"""

from __future__ import annotations

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import as_tensor, where
from flowgrad.ops.random import keep_mask
from flowgrad.random import Generator
from flowgrad.tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]

# SELU's negative saturation value -scale * alpha: alpha dropout sets dropped units to it.
_SELU_SATURATION = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _check_p(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x: Tensor, p: float, channel_dims: int | None, generator: Generator | None
               ) -> Tensor:
    """``1 / (1 - p)`` where an element (or channel) is kept, 0 where dropped: drawn when
    the primitive runs, so a graph draws a new mask at every run."""
    return keep_mask.bind(x.detach(), p=p, channel_dims=channel_dims, generator=generator)


def _apply(x: Tensor, mask, inplace: bool) -> Tensor:
    return x.mul_(mask) if inplace else x * mask


def _trivial(x: Tensor, p: float, training: bool, inplace: bool) -> Tensor | None:
    """The result when nothing is drawn: ``x`` itself (evaluation, or ``p = 0``), or zeros
    (``p = 1``); None otherwise."""
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _apply(x, 0.0, inplace)
    return None


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
    trivial = _trivial(x, p, training, inplace)
    if trivial is not None:
        return trivial
    return _apply(x, _keep_mask(x, p, None, generator), inplace)


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
    trivial = _trivial(x, p, training, inplace)
    if trivial is not None:
        return trivial
    channel_dims = 2 if x.ndim == ranks[-1] else 1  # batched, or one sample
    return _apply(x, _keep_mask(x, p, channel_dims, generator), inplace)


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
    trivial = _trivial(x, p, training, inplace)
    if trivial is not None:
        return trivial
    keep = _keep_mask(x, p, None, generator) != 0
    a = ((1 - p) * (1 + p * _SELU_SATURATION ** 2)) ** -0.5
    b = -a * _SELU_SATURATION * p
    scale = where(keep, a, 0.0).to(x.dtype)
    offset = where(keep, b, a * _SELU_SATURATION + b).to(x.dtype)
    if inplace:
        return x.mul_(scale).add_(offset)
    return x * scale + offset
