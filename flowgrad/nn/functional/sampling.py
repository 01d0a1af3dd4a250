"""Resampling: ``interpolate`` with PyTorch's ``'nearest'``, ``'linear'``, ``'bilinear'`` and
``'trilinear'`` modes.

Both modes are separable, so each spatial axis is resampled on its own: ``'nearest'`` picks
source rows with an index selection, the linear modes multiply by a small ``(out, in)``
interpolation matrix. Both are compositions of existing differentiable operations, and the
source positions are computed exactly as PyTorch computes them (in the input's precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.tensor import Tensor

__all__ = ["interpolate", "upsample"]

_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _output_sizes(op: str, in_sizes: tuple, size, scale_factor) -> tuple[tuple, tuple]:
    """Output sizes and the scales PyTorch uses for source positions (None: in / out)."""
    spatial = len(in_sizes)
    if (size is None) == (scale_factor is None):
        raise ValueError(at_user_site(f"{op}: give exactly one of size and scale_factor"))
    if size is not None:
        sizes = tuple(size) if isinstance(size, Sequence) else (size,) * spatial
        if len(sizes) != spatial:
            raise ValueError(at_user_site(
                f"{op}: size {tuple(sizes)} must have {spatial} entries for an input with "
                f"{spatial} spatial dimensions"
            ))
        return tuple(int(s) for s in sizes), (None,) * spatial
    scales = (tuple(scale_factor) if isinstance(scale_factor, Sequence)
              else (scale_factor,) * spatial)
    if len(scales) != spatial:
        raise ValueError(at_user_site(
            f"{op}: scale_factor {tuple(scales)} must have {spatial} entries for an input with "
            f"{spatial} spatial dimensions"
        ))
    scales = tuple(float(s) for s in scales)
    return tuple(math.floor(n * s) for n, s in zip(in_sizes, scales, strict=True)), scales


def _nearest_source(size: int, out: int, scale) -> np.ndarray:
    """PyTorch's ``'nearest'`` source index: ``min(floor(i * scale), size - 1)`` in float32."""
    ratio = np.float32(1.0 / scale if scale else size / out)
    positions = np.floor(np.arange(out, dtype=np.float32) * ratio).astype(np.int64)
    return np.minimum(positions, size - 1)


def _linear_matrix(size: int, out: int, scale, align_corners: bool, dtype) -> np.ndarray:
    """``(out, size)`` matrix of linear-interpolation weights, as PyTorch computes them."""
    real = np.dtype(dtype).type
    if align_corners:
        ratio = real((size - 1) / (out - 1)) if out > 1 else real(0)
        source = np.arange(out, dtype=dtype) * ratio
    else:
        ratio = real(1.0 / scale if scale else size / out)
        source = np.maximum(ratio * (np.arange(out, dtype=dtype) + real(0.5)) - real(0.5),
                            real(0))
    low = source.astype(np.int64)
    weight_high = source - low.astype(dtype)
    high = np.minimum(low + 1, size - 1)
    matrix = np.zeros((out, size), dtype=dtype)
    rows = np.arange(out)
    np.add.at(matrix, (rows, low), real(1) - weight_high)
    np.add.at(matrix, (rows, high), weight_high)
    return matrix


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dimensions of ``(N, C, *spatial)`` to ``size`` or by
    ``scale_factor``: ``'nearest'`` (any of 1 to 3 spatial dimensions), ``'linear'`` (3-D
    input), ``'bilinear'`` (4-D), ``'trilinear'`` (5-D), with PyTorch's ``align_corners``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.interpolate(fg.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    >>> F.interpolate(fg.tensor([[[1.0, 2.0]]]), size=3, mode="linear",
    ...               align_corners=True).tolist()
    [[[1.0, 1.5, 2.0]]]
    """
    op = "interpolate"
    x = as_tensor(input)
    if x.ndim not in (3, 4, 5):
        raise ShapeError(at_user_site(
            f"{op}: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got shape "
            f"{tuple(x.shape)}"
        ))
    if antialias:
        raise NotImplementedError(at_user_site(f"{op}: antialias=True is not supported"))
    spatial = x.ndim - 2
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(at_user_site(
                f"{op}: align_corners can only be set with the linear modes, not {mode!r}"
            ))
    elif mode in _LINEAR_MODES:
        if not x.is_floating_point():
            raise DTypeError(at_user_site(
                f"{op}: mode {mode!r} needs a floating-point input, got {x.dtype.name}"
            ))
        if _LINEAR_MODES[mode] != spatial:
            raise ShapeError(at_user_site(
                f"{op}: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-D input, got shape "
                f"{tuple(x.shape)}"
            ))
    else:
        raise ValueError(at_user_site(
            f"{op}: mode must be 'nearest', 'linear', 'bilinear' or 'trilinear', got {mode!r}"
        ))
    in_sizes = tuple(x.shape[2:])
    sizes, scales = _output_sizes(op, in_sizes, size, scale_factor)
    if min(sizes) < 1:
        raise ShapeError(at_user_site(
            f"{op}: output size {sizes} must be positive (input shape {tuple(x.shape)})"
        ))
    if recompute_scale_factor:
        scales = (None,) * spatial
    dtype = x._data.dtype
    for axis, (n, out, scale) in enumerate(zip(in_sizes, sizes, scales, strict=True),
                                           start=2):
        if n == out and (mode == "nearest" or scale in (None, 1.0)):
            continue  # PyTorch's shortcut: the same size copies the axis
        if mode == "nearest":
            index = Tensor._wrap(_nearest_source(n, out, scale))
            x = x.index_select(axis, index)
            continue
        matrix = Tensor._wrap(_linear_matrix(n, out, scale, bool(align_corners), dtype))
        if axis == x.ndim - 1:
            x = x @ matrix.T
        elif axis == x.ndim - 2:
            x = matrix @ x
        else:
            x = (x.movedim(axis, -1) @ matrix.T).movedim(-1, axis)
    return x


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`, as in PyTorch."""
    return interpolate(input, size, scale_factor, mode, align_corners)
