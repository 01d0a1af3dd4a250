"""Pooling with PyTorch's signatures: max and average pooling over the fused kernels of
:mod:`flowgrad.ops.nn`, and adaptive average pooling composed from them (or from two small
matrix products when the windows do not tile the input).

Max pooling is two steps: the positions of the maxima (``max_pool2d_argmax``, not
differentiable), then taking the values there; the gradient scatters back to the same
positions, so the backward does not search the windows again.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.nn.functional.conv import as_tuple, check_float, check_input
from flowgrad.ops import nn as nn_ops
from flowgrad.tensor import Tensor

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
]


def _pool_args(op: str, kernel_size, stride, padding, dilation, spatial: int) -> tuple:
    kernel = as_tuple(kernel_size, spatial, "kernel_size", op)
    empty_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    stride = kernel if empty_stride else as_tuple(stride, spatial, "stride", op)
    padding = as_tuple(padding, spatial, "padding", op)
    dilation = as_tuple(dilation, spatial, "dilation", op)
    for name, value in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(value) < 1:
            raise ValueError(at_user_site(f"{op}: {name} must be positive, got {value}"))
    for k, p in zip(kernel, padding, strict=True):
        if not 0 <= p <= k // 2:
            raise ValueError(at_user_site(
                f"{op}: padding {padding} must be non-negative and at most half of "
                f"kernel_size {kernel}"
            ))
    if spatial == 1:  # pool a height-1 image
        kernel, stride, padding, dilation = ((1, *kernel), (1, *stride), (0, *padding),
                                             (1, *dilation))
    return kernel, stride, padding, dilation


def _as_4d(op: str, input, spatial: int) -> tuple[Tensor, bool]:
    x = as_tensor(input)
    unbatched = check_input(op, x, spatial)
    check_float(op, x)
    if unbatched:
        x = x.unsqueeze(0)
    if spatial == 1:
        x = x.unsqueeze(2)
    return x, unbatched


def _restore(out: Tensor, unbatched: bool, spatial: int) -> Tensor:
    if spatial == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def _max_pool(op: str, input, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool, spatial: int):
    kernel, stride, padding, dilation = _pool_args(op, kernel_size, stride, padding, dilation,
                                                   spatial)
    x, unbatched = _as_4d(op, input, spatial)
    argmax = nn_ops.max_pool2d_argmax.bind(x, kernel=kernel, stride=stride, padding=padding,
                                           dilation=dilation, ceil_mode=bool(ceil_mode))
    out = _restore(nn_ops.max_pool2d.bind(x, argmax), unbatched, spatial)
    if not return_indices:
        return out
    # PyTorch's indices count within each (H, W) plane: the flat position modulo its size.
    h, w = x.shape[2:]
    return out, _restore(argmax % (h * w), unbatched, spatial)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over ``kernel_size`` windows of ``(N, C, H, W)`` (``stride`` defaults to the
    kernel size; ``padding`` counts as ``-inf``); with ``return_indices``, also the flat
    position of each maximum in its ``H * W`` plane.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.max_pool2d(fg.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over ``kernel_size`` windows of ``(N, C, L)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.max_pool1d(fg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)


def _avg_pool(op: str, input, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override, spatial: int) -> Tensor:
    kernel, stride, padding, _ = _pool_args(op, kernel_size, stride, padding, 1, spatial)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ValueError(at_user_site(f"{op}: divisor_override must not be zero"))
    x, unbatched = _as_4d(op, input, spatial)
    out = nn_ops.avg_pool2d.bind(
        x, kernel=kernel, stride=stride, padding=padding, ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
        divisor_override=None if divisor_override is None else int(divisor_override),
    )
    return _restore(out, unbatched, spatial)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over ``kernel_size`` windows of ``(N, C, H, W)``; padded zeros count in the mean
    unless ``count_include_pad=False``, as in PyTorch.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.avg_pool2d(fg.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, 2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over ``kernel_size`` windows of ``(N, C, L)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.avg_pool1d(fg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, 1)


def _adaptive_sizes(op: str, output_size, input_sizes: tuple) -> tuple[int, ...]:
    spatial = len(input_sizes)
    if output_size is None or isinstance(output_size, int):
        output_size = (output_size,) * spatial
    if len(output_size) != spatial:
        raise ValueError(at_user_site(
            f"{op}: output_size must be an int or {spatial} ints (None keeps a size), got "
            f"{output_size}"
        ))
    sizes = tuple(s if o is None else int(o) for o, s in zip(output_size, input_sizes,
                                                             strict=True))
    if min(sizes) < 1 or min(input_sizes) < 1:
        raise ShapeError(at_user_site(
            f"{op}: output_size {sizes} and input sizes {input_sizes} must be positive"
        ))
    return sizes


def adaptive_pooling_matrix(size: int, out: int, dtype) -> np.ndarray:
    """``(out, size)`` averaging matrix: row ``i`` averages PyTorch's adaptive window
    ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    starts = (np.arange(out) * size) // out
    ends = -((-(np.arange(1, out + 1) * size)) // out)
    columns = np.arange(size)
    inside = (columns >= starts[:, None]) & (columns < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)


#: Above this many kernel positions, tiled adaptive pooling uses matrix products instead of
#: one strided add per position.
_MAX_WINDOW_LOOP = 16


def _adaptive_avg(op: str, input, output_size, spatial: int) -> Tensor:
    x, unbatched = _as_4d(op, input, spatial)
    in_h, in_w = x.shape[2:]
    sizes = _adaptive_sizes(op, output_size, tuple(x.shape[4 - spatial:]))
    out_h, out_w = (1, *sizes) if spatial == 1 else sizes
    if (out_h, out_w) == (1, 1):
        out = x.mean((2, 3), keepdim=True)
    elif in_h % out_h == 0 and in_w % out_w == 0 and (
        (in_h // out_h) * (in_w // out_w) <= _MAX_WINDOW_LOOP
    ):
        kernel = (in_h // out_h, in_w // out_w)
        out = nn_ops.avg_pool2d.bind(x, kernel=kernel, stride=kernel, padding=(0, 0),
                                     ceil_mode=False, count_include_pad=True,
                                     divisor_override=None)
    else:
        dtype = x._data.dtype
        rows = Tensor._wrap(adaptive_pooling_matrix(in_h, out_h, dtype))
        cols = Tensor._wrap(adaptive_pooling_matrix(in_w, out_w, dtype).T.copy())
        out = rows @ (x @ cols)
    return _restore(out, unbatched, spatial)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, H, W)`` to ``output_size`` whatever the input size, with
    PyTorch's windows (``None`` in ``output_size`` keeps that size).

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.adaptive_avg_pool2d(fg.ones(2, 3, 7, 5), (2, 1)).shape
    (2, 3, 2, 1)
    """
    return _adaptive_avg("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, L)`` to ``output_size``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.adaptive_avg_pool1d(fg.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    return _adaptive_avg("adaptive_avg_pool1d", input, output_size, 1)
