"""Convolutions with PyTorch's signatures, over the fused kernels of :mod:`flowgrad.ops.nn`.

``conv1d`` is ``conv2d`` on a height-1 image; a transposed convolution is the convolution's
input gradient (``conv2d_backward_input``), so both directions share one kernel pair.
Arguments are checked here, so a mistake names the operation and the shapes it got.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.ops import nn as nn_ops
from flowgrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def as_tuple(value, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a length-``n`` sequence as an ``n``-tuple of ints."""
    if isinstance(value, Sequence):
        if len(value) == 1 and n > 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(at_user_site(
                f"{op}: {name} must be an int or a sequence of {n} ints, got {tuple(value)}"
            ))
        return tuple(int(v) for v in value)
    return (int(value),) * n


def check_input(op: str, input: Tensor, spatial: int) -> bool:
    """Raise unless ``input`` is batched or unbatched for ``spatial`` spatial dimensions;
    return whether it is unbatched (one sample without the batch dimension)."""
    ndim = input.ndim
    if ndim not in (spatial + 1, spatial + 2):
        layout = ("(N, C, L)", "(C, L)") if spatial == 1 else ("(N, C, H, W)", "(C, H, W)")
        raise ShapeError(at_user_site(
            f"{op}: expected a {spatial + 2}-D input {layout[0]} or a {spatial + 1}-D unbatched "
            f"input {layout[1]}, got shape {tuple(input.shape)}"
        ))
    return ndim == spatial + 1


def check_float(op: str, *tensors) -> None:
    """Raise a DTypeError unless the tensors (None skipped) share one floating-point dtype."""
    dtypes = [t.dtype for t in tensors if t is not None]
    if any(not t.is_floating_point() for t in tensors if t is not None) or len(set(dtypes)) > 1:
        raise DTypeError(at_user_site(
            f"{op}: expected floating-point tensors of one dtype, got "
            f"{', '.join(d.name for d in dtypes)}; convert them with .to(dtype) first"
        ))


def check_channels(op: str, input_shape: tuple, channels: int, spatial: int) -> None:
    """Raise a ShapeError naming ``op`` when ``input_shape`` does not have ``channels``."""
    got = input_shape[-spatial - 1]
    if got == channels or got is None:  # None: a graph checks it at run time
        return
    hint = ""
    if input_shape[-1] == channels and spatial == 2:
        hint = "; channels-last images need .permute(0, 3, 1, 2) first"
    dim = len(input_shape) - spatial - 1
    raise ShapeError(at_user_site(
        f"{op}: expected input with {channels} channels, got {got} channels (input shape "
        f"{tuple(input_shape)}, channels in dimension {dim}){hint}"
    ))


def _check_weight(op: str, weight: Tensor, spatial: int, groups: int, bias,
                  out_channels: int) -> None:
    if weight.ndim != spatial + 2:
        raise ShapeError(at_user_site(
            f"{op}: expected a {spatial + 2}-D weight, got shape {tuple(weight.shape)}"
        ))
    if groups < 1 or weight.shape[0] % groups:
        raise ShapeError(at_user_site(
            f"{op}: the weight's first dimension ({weight.shape[0]}, weight shape "
            f"{tuple(weight.shape)}) must be divisible by groups={groups}"
        ))
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(at_user_site(
            f"{op}: expected a bias of shape ({out_channels},), got {tuple(bias.shape)}"
        ))


def resolve_padding(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple
                    ) -> tuple[tuple[int, int], ...]:
    """Per-side padding ``((before, after), ...)`` from ints, tuples, ``'same'`` or
    ``'valid'`` (``'same'`` puts the odd extra pixel after, as PyTorch does)."""
    spatial = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * spatial
        if padding != "same":
            raise ValueError(at_user_site(
                f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"
            ))
        if any(s != 1 for s in stride):
            raise ValueError(at_user_site(
                f"{op}: padding='same' is not supported for strided convolutions "
                f"(stride={stride})"
            ))
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = as_tuple(padding, spatial, "padding", op)
    if min(pads) < 0:
        raise ValueError(at_user_site(f"{op}: padding must be non-negative, got {pads}"))
    return tuple((p, p) for p in pads)


def _positive(op: str, **values) -> None:
    for name, value in values.items():
        if min(value) < 1:
            raise ValueError(at_user_site(f"{op}: {name} must be positive, got {value}"))


def _conv(op: str, input, weight: Tensor, bias, stride, padding, dilation, groups: int,
          spatial: int) -> Tensor:
    """``conv1d``/``conv2d`` after their arguments are normalised: a 4-D convolution."""
    x = as_tensor(input)
    unbatched = check_input(op, x, spatial)
    _check_weight(op, weight, spatial, groups, bias, weight.shape[0])
    check_float(op, x, weight, bias)
    check_channels(op, tuple(x.shape), weight.shape[1] * groups, spatial)
    stride = as_tuple(stride, spatial, "stride", op)
    dilation = as_tuple(dilation, spatial, "dilation", op)
    _positive(op, stride=stride, dilation=dilation)
    pads = resolve_padding(op, padding, tuple(weight.shape[2:]), stride, dilation)
    if unbatched:
        x = x.unsqueeze(0)
    if spatial == 1:  # a 1-D convolution is a 2-D one on a height-1 image
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, dilation, pads = (1, *stride), (1, *dilation), ((0, 0), *pads)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = nn_ops.conv2d.bind(*inputs, stride=stride, padding=pads, dilation=dilation,
                             groups=int(groups))
    if spatial == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of ``(N, C, H, W)`` with a weight
    ``(out_channels, C / groups, kH, kW)``; ``padding`` may be ``'same'`` or ``'valid'``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.conv2d(fg.ones(1, 1, 3, 3), fg.ones(1, 1, 2, 2)).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of ``(N, C, L)`` with a weight ``(out_channels, C / groups, K)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.conv1d(fg.ones(1, 2, 4), fg.ones(3, 2, 3), padding="same").shape
    (1, 3, 4)
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def transposed_size(op: str, size: int, kernel: int, stride: int, padding: int,
                    output_padding: int, dilation: int) -> int:
    """Output length of a transposed convolution along one axis."""
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(at_user_site(
            f"{op}: input size {size} with kernel {kernel}, stride {stride}, padding {padding} "
            f"and dilation {dilation} gives an empty output ({out})"
        ))
    return out


def _conv_transpose(op: str, input, weight: Tensor, bias, stride, padding, output_padding,
                    groups: int, dilation, spatial: int) -> Tensor:
    x = as_tensor(input)
    unbatched = check_input(op, x, spatial)
    _check_weight(op, weight, spatial, groups, bias, weight.shape[1] * groups)
    check_float(op, x, weight, bias)
    check_channels(op, tuple(x.shape), weight.shape[0], spatial)
    stride = as_tuple(stride, spatial, "stride", op)
    dilation = as_tuple(dilation, spatial, "dilation", op)
    pads = as_tuple(padding, spatial, "padding", op)
    extra = as_tuple(output_padding, spatial, "output_padding", op)
    _positive(op, stride=stride, dilation=dilation)
    for o, s, d in zip(extra, stride, dilation, strict=True):
        if not 0 <= o < max(s, d):
            raise ValueError(at_user_site(
                f"{op}: output_padding {extra} must be smaller than stride {stride} or "
                f"dilation {dilation}"
            ))
    if unbatched:
        x = x.unsqueeze(0)
    kernel = tuple(weight.shape[2:])
    if spatial == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, dilation, pads, extra, kernel = ((1, *stride), (1, *dilation), (0, *pads),
                                                 (0, *extra), (1, *kernel))
    sizes = tuple(transposed_size(op, x.shape[2 + a], kernel[a], stride[a], pads[a], extra[a],
                                  dilation[a]) for a in range(2))
    out_shape = (x.shape[0], weight.shape[1] * groups, *sizes)
    out = nn_ops.conv2d_backward_input.bind(
        x, weight, input_shape=out_shape, stride=stride, padding=tuple((p, p) for p in pads),
        dilation=dilation, groups=int(groups),
    )
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    if spatial == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution (the gradient of ``conv2d`` with respect to its input) of
    ``(N, C, H, W)`` with a weight ``(C, out_channels / groups, kH, kW)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.conv_transpose2d(fg.ones(1, 1, 2, 2), fg.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution of ``(N, C, L)`` with a weight ``(C, out_channels / groups,
    K)``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.conv_transpose1d(fg.ones(1, 1, 3), fg.ones(1, 2, 2)).shape
    (1, 2, 4)
    """
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 1)


def pad_with_mode(op: str, input: Tensor, pads: tuple[tuple[int, int], ...], mode: str
                  ) -> Tensor:
    """Pad the trailing ``len(pads)`` dimensions by ``'reflect'``, ``'replicate'`` or
    ``'circular'`` (index selections, so the gradient is exact), as the padding modes of
    PyTorch's convolution layers."""
    x = input
    for axis, (before, after) in enumerate(pads, start=x.ndim - len(pads)):
        if not (before or after):
            continue
        size = x.shape[axis]
        positions = np.arange(-before, size + after)
        if mode == "reflect":
            if max(before, after) >= size:
                raise ShapeError(at_user_site(
                    f"{op}: reflect padding {max(before, after)} must be smaller than the "
                    f"input size {size} (input shape {tuple(input.shape)})"
                ))
            period = 2 * (size - 1)
            positions = np.abs(positions) % period if period else np.zeros_like(positions)
            positions = np.where(positions >= size, period - positions, positions)
        elif mode == "replicate":
            positions = np.clip(positions, 0, size - 1)
        elif mode == "circular":
            if max(before, after) > size:
                raise ShapeError(at_user_site(
                    f"{op}: circular padding {max(before, after)} must be at most the input "
                    f"size {size} (input shape {tuple(input.shape)})"
                ))
            positions = positions % size
        else:
            raise ValueError(at_user_site(
                f"{op}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {mode!r}"
            ))
        x = x.index_select(axis, Tensor._wrap(positions.astype(np.int64)))
    return x
