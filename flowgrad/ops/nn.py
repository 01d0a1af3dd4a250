"""Convolution and pooling primitives: the fused NN kernels NumPy cannot express in one call.

A 2-D convolution is *im2col* (one strided copy per kernel position into a column matrix) and
one batched BLAS matmul (a row of ones in the columns adds the bias in the same matmul); its
two backward convolutions are the same matmul transposed, with *col2im* (a strided add per
kernel position) for the input gradient. Max pooling first finds the flat position of each
window's maximum (``max_pool2d_argmax``), then takes the values there (``max_pool2d``), so its
gradient is a scatter to those positions that does not search the windows again. Average
pooling adds the strided windows. Python loops run over kernel positions only, never over the
batch or over pixels.

Attributes use explicit forms: ``stride``, ``dilation`` and ``kernel`` are ``(h, w)`` pairs;
a convolution's ``padding`` is ``((top, bottom), (left, right))`` (the functional layer
resolves ``'same'`` and ``'valid'``); a pooling ``padding`` is ``(h, w)``, applied on both
sides as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import shape_of, shapes_agree

INT64 = np.dtype(np.int64)

# -- geometry -----------------------------------------------------------------------------------


def conv_out_size(size, kernel: int, stride: int, before: int, after: int, dilation: int):
    """Output length of a convolution along one axis (None stays None)."""
    if size is None:
        return None
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def pool_out_size(size, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool):
    """Output length of a pooling along one axis, with PyTorch's ``ceil_mode`` rule (the last
    window must start inside the input or its left padding)."""
    if size is None:
        return None
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _windows(padded: np.ndarray, kernel, stride, dilation, out_hw):
    """For each kernel position ``(i, j)``, the strided view of ``padded`` it reads: each view
    has ``padded``'s leading dimensions and then ``out_hw``."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            yield i, j, padded[..., top:top + sh * (oh - 1) + 1:sh,
                               left:left + sw * (ow - 1) + 1:sw]


def _pad_spatial(x: np.ndarray, widths, value) -> np.ndarray:
    """``x`` with its last two axes padded by ``((top, bottom), (left, right))``."""
    (top, bottom), (left, right) = widths
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    padded = np.full((*x.shape[:-2], h + top + bottom, w + left + right), value, dtype=x.dtype)
    padded[..., top:top + h, left:left + w] = x
    return padded


def _crop(padded: np.ndarray, widths, size) -> np.ndarray:
    """The ``size`` region of ``padded`` after the leading pads, contiguous."""
    (top, _), (left, _) = widths
    h, w = size
    if (top, left) == (0, 0) and padded.shape[-2:] == (h, w):
        return padded
    return np.ascontiguousarray(padded[..., top:top + h, left:left + w])


def _padded_zeros(lead: tuple, size, widths, kernel, stride, dilation, out_hw, dtype):
    """Zeros big enough for the input plus its pads and for every window (a transposed
    convolution's ``output_padding`` can leave rows no window reaches)."""
    extents = []
    for axis in range(2):
        pads = widths[axis][0] + widths[axis][1]
        reach = stride[axis] * (out_hw[axis] - 1) + dilation[axis] * (kernel[axis] - 1) + 1
        extents.append(max(size[axis] + pads, reach))
    return np.zeros((*lead, *extents), dtype=dtype)


class _Aval:
    """A shape and dtype without data, for rules that reason about an input not passed."""

    def __init__(self, shape: tuple, dtype) -> None:
        self.shape, self.dtype = shape, dtype


def _float_rule(op: str, *avals) -> np.dtype:
    dtype = np.dtype(avals[0].dtype)
    for aval in avals:
        if np.dtype(aval.dtype) != dtype:
            raise DTypeError(at_user_site(
                f"{op}: inputs must have one dtype, got "
                f"{', '.join(str(np.dtype(a.dtype)) for a in avals)}"
            ))
    if dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"{op}: expected floating-point tensors, got {dtype}; convert with .float() first"
        ))
    return dtype


def _check_4d(op: str, what: str, shape: tuple) -> None:
    if len(shape) != 4:
        raise ShapeError(at_user_site(
            f"{op}: expected a 4-D {what} (batch, channels, height, width), got shape {shape}"
        ))


# -- convolution --------------------------------------------------------------------------------


def _im2col(x: np.ndarray, kernel, stride, padding, dilation, groups: int, out_hw,
            ones_row: bool = False) -> np.ndarray:
    """Columns ``(N, groups, C/groups * kH * kW [+ 1], oH * oW)``: one row per input channel
    and kernel position, one column per output pixel; ``ones_row`` appends a row of ones
    (it multiplies the bias, so the bias add is part of the matmul)."""
    n, c, h, w = x.shape
    per_group = c // groups
    oh, ow = out_hw
    trivial = kernel == (1, 1) and stride == (1, 1) and padding == ((0, 0), (0, 0))
    if trivial and not ones_row:  # a 1x1 convolution reads the input as it is
        return x.reshape(n, groups, per_group, h * w)
    rows = per_group * kernel[0] * kernel[1]
    cols = np.empty((n, groups, rows + ones_row, oh * ow), dtype=x.dtype)
    grid = cols[:, :, :rows].reshape(n, groups, per_group, kernel[0], kernel[1], oh, ow)
    padded = _pad_spatial(x, padding, 0)
    padded = padded.reshape(n, groups, per_group, *padded.shape[-2:])
    for i, j, window in _windows(padded, kernel, stride, dilation, out_hw):
        grid[:, :, :, i, j] = window
    if ones_row:
        cols[:, :, rows] = 1
    return cols


class _Columns:
    """The columns of the last convolution's input, kept for its weight gradient: training
    computes that gradient right after the backward reaches the layer, from the same input
    array, so the forward's im2col (1.2 ms for a 64x3x32x32 batch) is reused, not redone.
    One entry, taken once; the input's identity and geometry must match, and autograd's
    version counters have already refused an input modified in place since the forward."""

    def __init__(self) -> None:
        self.entry: tuple | None = None

    def keep(self, x: np.ndarray, *geometry_and_cols) -> None:
        *geometry, cols = geometry_and_cols
        # Not when no gradient will follow (inference), nor a view of x (a 1x1 convolution).
        if STATE.grad_enabled and cols.base is None:
            self.entry = (x, tuple(geometry), cols)

    def take(self, x: np.ndarray, *geometry):
        entry = self.entry
        if entry is None or entry[0] is not x or entry[1] != tuple(geometry):
            return None
        self.entry = None
        return entry[2]


_LAST_COLUMNS = _Columns()


def _col2im(cols: np.ndarray, input_shape, kernel, stride, padding, dilation, groups: int,
            out_hw) -> np.ndarray:
    """The adjoint of :func:`_im2col`: add each column entry back to the pixel it came from."""
    n, c, h, w = input_shape
    oh, ow = out_hw
    trivial = kernel == (1, 1) and stride == (1, 1) and padding == ((0, 0), (0, 0))
    if trivial and (oh, ow) == (h, w):
        return cols.reshape(input_shape)
    per_group = c // groups
    grid = cols.reshape(n, groups, per_group, kernel[0], kernel[1], oh, ow)
    padded = _padded_zeros((n, groups, per_group), (h, w), padding, kernel, stride, dilation,
                           out_hw, cols.dtype)
    for i, j, window in _windows(padded, kernel, stride, dilation, out_hw):
        window += grid[:, :, :, i, j]
    return _crop(padded, padding, (h, w)).reshape(input_shape)


def _conv2d_kernel(x, weight, *bias, stride, padding, dilation, groups):
    out_channels, per_group, kh, kw = weight.shape
    out_hw = tuple(conv_out_size(x.shape[2 + a], weight.shape[2 + a], stride[a], *padding[a],
                                 dilation[a]) for a in range(2))
    if min(out_hw) < 1:
        raise ValueError("empty output")  # bind replaces it by the shape rule's message
    cols = _im2col(x, (kh, kw), stride, padding, dilation, groups, out_hw, ones_row=bool(bias))
    _LAST_COLUMNS.keep(x, (kh, kw), stride, padding, dilation, groups, out_hw, bool(bias), cols)
    matrix = weight.reshape(groups, out_channels // groups, per_group * kh * kw)
    if bias:
        matrix = np.concatenate([matrix, bias[0].reshape(groups, -1, 1)], axis=2)
    out = np.matmul(matrix, cols)  # (N, groups, O/groups, oH*oW): already NCHW order
    return out.reshape(x.shape[0], out_channels, *out_hw)


def _conv2d_rule(x, weight, *bias, stride, padding, dilation, groups):
    op = "conv2d"
    dtype = _float_rule(op, x, weight, *bias)
    x_shape, w_shape = shape_of(x), shape_of(weight)
    _check_4d(op, "input", x_shape)
    if len(w_shape) != 4:
        raise ShapeError(at_user_site(
            f"{op}: expected a 4-D weight (out_channels, in_channels/groups, kH, kW), got "
            f"shape {w_shape}"
        ))
    out_channels = w_shape[0]
    if groups < 1 or out_channels % groups:
        raise ShapeError(at_user_site(
            f"{op}: out_channels ({out_channels}) must be divisible by groups ({groups})"
        ))
    if x_shape[1] is not None and x_shape[1] != w_shape[1] * groups:
        raise ShapeError(at_user_site(
            f"{op}: weight of shape {w_shape} with groups={groups} expects input with "
            f"{w_shape[1] * groups} channels, but got {x_shape[1]} channels (input shape "
            f"{x_shape})"
        ))
    if bias and shape_of(bias[0]) != (out_channels,):
        raise ShapeError(at_user_site(
            f"{op}: expected a bias of shape ({out_channels},), got {shape_of(bias[0])}"
        ))
    out_hw = tuple(conv_out_size(x_shape[2 + a], w_shape[2 + a], stride[a], *padding[a],
                                 dilation[a]) for a in range(2))
    if any(d is not None and d < 1 for d in out_hw):
        raise ShapeError(at_user_site(
            f"{op}: input of shape {x_shape} padded by {padding} is smaller than the kernel "
            f"{tuple(w_shape[2:])} with dilation {dilation} (output size would be {out_hw})"
        ))
    return (x_shape[0], out_channels, *out_hw), dtype


def _conv_attrs(ctx) -> dict:
    attrs = ctx.attrs
    return {key: attrs[key] for key in ("stride", "padding", "dilation", "groups")}


def _conv_to(shape: tuple, attrs: dict, *inputs):
    """``conv2d(*inputs)`` cut to ``shape``: a transposed convolution's output padding can
    leave rows that windows reach but no output pixel of ``shape`` came from."""
    out = conv2d.bind(*inputs, **attrs)
    if out.shape[2:] != tuple(shape[2:]):
        out = out[:, :, :shape[2], :shape[3]]
    return out


def _conv2d_vjp(ctx, g):
    need_x, need_w, *need_b = ctx.needs_grad
    attrs = _conv_attrs(ctx)
    grad_x = grad_w = grad_b = None
    if need_x:
        grad_x = conv2d_backward_input.bind(g, ctx.input(1),
                                            input_shape=tuple(ctx.in_shapes[0]), **attrs)
    with_bias = bool(need_b) and need_b[0]
    if need_w or with_bias:
        # With a bias, one matmul gives both gradients (see _backward_weight_kernel).
        weight_shape = ctx.in_shapes[1]
        product = conv2d_backward_weight.bind(ctx.input(0), g, weight_shape=weight_shape,
                                              bias=with_bias, **attrs)
        grad_w = product
        if with_bias:
            grad_b = product[:, -1]
            grad_w = product[:, :-1].reshape(weight_shape) if need_w else None
    if not need_b:
        return grad_x, grad_w
    return grad_x, grad_w, grad_b


conv2d = Primitive("conv2d", _conv2d_kernel, _conv2d_rule, _conv2d_vjp, save_inputs=(0, 1))


def _backward_input_kernel(g, weight, *, input_shape, stride, padding, dilation, groups):
    n, out_channels, oh, ow = g.shape
    _, per_group, kh, kw = weight.shape
    # Batch and channels from the arrays: a graph may know them only at run time (None).
    input_shape = (n, per_group * groups, *input_shape[2:])
    matrix = weight.reshape(groups, out_channels // groups, per_group * kh * kw)
    grads = g.reshape(n, groups, out_channels // groups, oh * ow)
    cols = np.matmul(matrix.transpose(0, 2, 1), grads)  # (N, groups, C/groups*kH*kW, oH*oW)
    return _col2im(cols, input_shape, (kh, kw), stride, padding, dilation, groups, (oh, ow))


def _backward_input_rule(g, weight, *, input_shape, stride, padding, dilation, groups):
    op = "conv2d_backward_input"
    dtype = _float_rule(op, g, weight)
    g_shape, w_shape = shape_of(g), shape_of(weight)
    _check_4d(op, "gradient", g_shape)
    if len(w_shape) != 4 or (g_shape[1] is not None and g_shape[1] != w_shape[0]):
        raise ShapeError(at_user_site(
            f"{op}: gradient of shape {g_shape} has {g_shape[1]} channels, but the weight of "
            f"shape {w_shape} has {w_shape[0] if w_shape else None} output channels"
        ))
    shape = tuple(input_shape)
    if len(shape) != 4 or (shape[1] is not None and shape[1] != w_shape[1] * groups):
        raise ShapeError(at_user_site(
            f"{op}: input_shape {shape} does not have {w_shape[1] * groups} channels (weight "
            f"of shape {w_shape} with groups={groups})"
        ))
    return (g_shape[0], *shape[1:]), dtype


def _backward_input_vjp(ctx, gg):
    need_g, need_w = ctx.needs_grad
    attrs = _conv_attrs(ctx)
    g, weight = ctx.inputs
    grad_g = _conv_to(ctx.in_shapes[0], attrs, gg, weight) if need_g else None
    grad_w = (conv2d_backward_weight.bind(gg, g, weight_shape=ctx.in_shapes[1], bias=False,
                                          **attrs) if need_w else None)
    return grad_g, grad_w


conv2d_backward_input = Primitive("conv2d_backward_input", _backward_input_kernel,
                                  _backward_input_rule, _backward_input_vjp, save_inputs=(0, 1))


def _backward_weight_kernel(x, g, *, weight_shape, bias, stride, padding, dilation, groups):
    n, out_channels, oh, ow = g.shape
    out_per_group = out_channels // groups
    kernel = tuple(weight_shape[2:])
    # With ``bias``, a row of ones in the columns makes the bias gradient (the sum of g) the
    # last column of the product: one matmul instead of a matmul and a reduction.
    cols = _LAST_COLUMNS.take(x, kernel, stride, padding, dilation, groups, (oh, ow), bias)
    if cols is None:
        cols = _im2col(x, kernel, stride, padding, dilation, groups, (oh, ow), ones_row=bias)
    grads = g.reshape(n, groups, out_per_group, oh * ow)
    if out_per_group <= oh * ow:
        # Per-sample products are no bigger than the columns: batched matmul, then sum.
        partial = np.matmul(grads, cols.transpose(0, 1, 3, 2))  # (N, groups, O/g, rows)
        grad_w = partial.sum(axis=0)
    else:
        # Many channels, few pixels: contract batch and pixels in one matmul per group.
        grads_t = grads.transpose(1, 2, 0, 3).reshape(groups, out_per_group, n * oh * ow)
        cols_t = cols.transpose(1, 2, 0, 3).reshape(groups, -1, n * oh * ow)
        grad_w = np.matmul(grads_t, cols_t.transpose(0, 2, 1))
    return grad_w.reshape(_backward_weight_shape(weight_shape, bias))


def _backward_weight_shape(weight_shape, bias: bool) -> tuple:
    """The weight's shape, or with ``bias`` the ``(O, C/groups * kH * kW + 1)`` matrix whose
    last column is the bias gradient."""
    if not bias:
        return tuple(weight_shape)
    out_channels, per_group, kh, kw = weight_shape
    return (out_channels, per_group * kh * kw + 1)


def _backward_weight_rule(x, g, *, weight_shape, bias, stride, padding, dilation, groups):
    op = "conv2d_backward_weight"
    dtype = _float_rule(op, x, g)
    x_shape, g_shape = shape_of(x), shape_of(g)
    _check_4d(op, "input", x_shape)
    _check_4d(op, "gradient", g_shape)
    shape = tuple(weight_shape)
    expected = tuple(conv_out_size(x_shape[2 + a], shape[2 + a], stride[a], *padding[a],
                                   dilation[a]) for a in range(2))
    if len(shape) != 4 or g_shape[1] != shape[0] or (
        x_shape[1] is not None and x_shape[1] != shape[1] * groups
    ) or any(a is not None and b is not None and a > b
             for a, b in zip(g_shape[2:], expected, strict=True)):
        raise ShapeError(at_user_site(
            f"{op}: input of shape {x_shape} and gradient of shape {g_shape} do not fit a "
            f"weight of shape {shape} with groups={groups}"
        ))
    return _backward_weight_shape(shape, bias), dtype


def _backward_weight_vjp(ctx, gg):
    need_x, need_g = ctx.needs_grad
    attrs = _conv_attrs(ctx)
    weight_shape = ctx.attrs["weight_shape"]
    x, g = ctx.inputs
    bias = ()
    if ctx.attrs["bias"]:
        gg, bias = gg[:, :-1].reshape(weight_shape), (gg[:, -1],)
    grad_x = (conv2d_backward_input.bind(g, gg, input_shape=tuple(ctx.in_shapes[0]), **attrs)
              if need_x else None)
    grad_g = _conv_to(ctx.in_shapes[1], attrs, x, gg, *bias) if need_g else None
    return grad_x, grad_g


conv2d_backward_weight = Primitive("conv2d_backward_weight", _backward_weight_kernel,
                                   _backward_weight_rule, _backward_weight_vjp,
                                   save_inputs=(0, 1))


# -- pooling ------------------------------------------------------------------------------------


def _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    """Output size and the ``((top, bottom), (left, right))`` pads that make every window fit
    (``ceil_mode`` can need more than ``padding`` at the bottom and right)."""
    out_hw, widths = [], []
    for a in range(2):
        size = shape[2 + a]
        out = pool_out_size(size, kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
        reach = stride[a] * (out - 1) + dilation[a] * (kernel[a] - 1) + 1
        out_hw.append(out)
        widths.append((padding[a], max(reach - size - padding[a], 0)))
    return tuple(out_hw), tuple(widths)


def _overlapping(kernel, stride, dilation) -> bool:
    """Whether two windows can read the same pixel."""
    return any(stride[a] < dilation[a] * (kernel[a] - 1) + 1 for a in range(2))


def _pool_rule(op: str, x, kernel, stride, padding, dilation, ceil_mode):
    """Pooled shape and dtype of ``x`` (anything with ``shape`` and ``dtype``)."""
    dtype = _float_rule(op, x)
    shape = shape_of(x)
    _check_4d(op, "input", shape)
    if min(*kernel, *stride, *dilation) < 1:
        raise ShapeError(at_user_site(
            f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be "
            f"positive"
        ))
    for a in range(2):
        if not 0 <= padding[a] <= kernel[a] // 2:
            raise ShapeError(at_user_site(
                f"{op}: padding {padding} must be non-negative and at most half the kernel "
                f"size {kernel}"
            ))
    out_hw = tuple(pool_out_size(shape[2 + a], kernel[a], stride[a], padding[a], dilation[a],
                                 ceil_mode) for a in range(2))
    if any(d is not None and d < 1 for d in out_hw):
        raise ShapeError(at_user_site(
            f"{op}: input of shape {shape} is too small for kernel_size {kernel} with "
            f"padding {padding} and dilation {dilation} (output size would be {out_hw})"
        ))
    return (*shape[:2], *out_hw), dtype


_CACHE_BLOCK_BYTES = 1 << 20


def _max_pool2d_argmax_kernel(x, *, kernel, stride, padding, dilation, ceil_mode):
    # Several passes run over each window position: in blocks of samples of about 1 MiB they
    # stay in the CPU cache (30% faster on a 64x32x32x32 batch than one pass over it all).
    geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)
    per_block = max(1, _CACHE_BLOCK_BYTES // max(1, x[:1].nbytes))
    h, w = x.shape[2:]
    if (tuple(kernel) == tuple(stride) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1) and h % kernel[0] == 0 and w % kernel[1] == 0):
        return _non_overlapping_argmax(x, tuple(kernel), per_block)
    if x.shape[0] <= per_block:
        return _max_pool2d_argmax_block(x, **geometry)
    first = _max_pool2d_argmax_block(x[:per_block], **geometry)
    out = np.empty((x.shape[0], *first.shape[1:]), dtype=first.dtype)
    out[:per_block] = first
    sample_size = x[:1].size
    for start in range(per_block, x.shape[0], per_block):
        block = _max_pool2d_argmax_block(x[start:start + per_block], **geometry)
        np.add(block, start * sample_size, out=out[start:start + per_block])
    return out


def _non_overlapping_argmax(x, kernel: tuple, per_block: int):
    """Windows that tile the input exactly (2x2 with stride 2, the common case): each
    kernel position is one strided view, compared in blocks of samples that stay in the
    cache, and no padded copy is made (25% faster than the general path at 64x32x32x32)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    oh, ow = h // kh, w // kw
    positions = [(i, j) for i in range(kh) for j in range(kw)]
    deltas = [i * w + j for i, j in positions]  # from a window's corner, increasing
    tracked = np.int16 if deltas[-1] < 2**15 else np.int32
    corners = ((np.arange(oh) * kh * w)[:, None] + np.arange(ow) * kw).ravel()
    out = np.empty((n, c, oh, ow), dtype=np.int64)
    for start in range(0, n, per_block):
        block = x[start:start + per_block]
        views = [block[:, :, i::kh, j::kw] for i, j in positions]
        best = np.array(views[0])
        found = np.zeros(best.shape, dtype=tracked)
        window = np.empty_like(best)
        for delta, view in zip(deltas[1:], views[1:], strict=True):
            np.copyto(window, view)  # strided reads are the slow part: read each once
            better = window > best  # strictly: the first maximum wins ties, as in PyTorch
            np.maximum(best, window, out=best)
            np.maximum(found, better * tracked(delta), out=found)
        planes = np.arange(start * c, (start + block.shape[0]) * c, dtype=np.int64)
        starts = (planes[:, None] * (h * w) + corners).reshape(found.shape)
        np.add(starts, found, out=out[start:start + per_block])
    return out


def _max_pool2d_argmax_block(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Flat positions of the maxima, for a block of whole samples."""
    out_hw, widths = _pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    padded = _pad_spatial(x, widths, -np.inf)
    # Kernel position -> offset in the input plane from the window's top-left corner.
    rows, cols = np.divmod(np.arange(kernel[0] * kernel[1]), kernel[1])
    offsets = rows * dilation[0] * x.shape[3] + cols * dilation[1]
    # Offsets normally grow with the position: then track them directly, in the narrowest
    # integer type; otherwise track positions and look their offsets up at the end.
    direct = bool(np.all(np.diff(offsets) > 0))
    tracked = offsets if direct else np.arange(offsets.size)
    tracked = tracked.astype(np.int16 if tracked[-1] < 2**15 else np.int32)
    best = found = window_copy = None
    for position, (_, _, window) in enumerate(_windows(padded, kernel, stride, dilation,
                                                        out_hw)):
        if best is None:
            best = np.array(window)
            found = np.zeros(best.shape, dtype=tracked.dtype)
            window_copy = np.empty_like(best)
            continue
        np.copyto(window_copy, window)  # strided reads are the slow part: read each once
        better = window_copy > best  # strictly: the first maximum wins ties, as in PyTorch
        np.maximum(best, window_copy, out=best)
        # Tracked values grow with the position, so the last strict improvement is the
        # largest: one maximum, no masked writes.
        np.maximum(found, better * tracked[position], out=found)
    if not direct:
        found = offsets.take(found)
    # Add each window's top-left corner and its plane's start, as one table.
    n, c, h, w = x.shape
    top = np.arange(out_hw[0]) * stride[0] - padding[0]
    left = np.arange(out_hw[1]) * stride[1] - padding[1]
    corners = (top[:, None] * w + left).ravel()
    starts = np.arange(n * c, dtype=np.int64)[:, None] * (h * w)
    return np.add(found.reshape(n * c, corners.size), starts + corners).reshape(found.shape)


def _max_pool2d_argmax_rule(x, **attrs):
    shape, _ = _pool_rule("max_pool2d_argmax", x, **attrs)
    return shape, INT64


# The flat position in the input (``x.ravel()``) of each window's first maximum. Not
# differentiable.
max_pool2d_argmax = Primitive("max_pool2d_argmax", _max_pool2d_argmax_kernel,
                              _max_pool2d_argmax_rule)


def _max_pool2d_kernel(x, argmax):
    return np.take(x.ravel(), argmax)


def _check_argmax(op: str, argmax) -> None:
    if np.dtype(argmax.dtype) != INT64 or len(shape_of(argmax)) != 4:
        raise ShapeError(at_user_site(
            f"{op}: expected 4-D int64 positions of the maxima, got {argmax.dtype} of shape "
            f"{shape_of(argmax)}"
        ))


def _max_pool2d_rule(x, argmax):
    dtype = _float_rule("max_pool2d", x)
    _check_4d("max_pool2d", "input", shape_of(x))
    _check_argmax("max_pool2d", argmax)
    return shape_of(argmax), dtype


def _max_pool2d_vjp(ctx, g):
    argmax = ctx.input(1)
    return max_pool2d_backward.bind(g, argmax, input_shape=tuple(ctx.in_shapes[0])), None


# Max pooling given the positions of the maxima: it takes them. Its gradient scatters back.
max_pool2d = Primitive("max_pool2d", _max_pool2d_kernel, _max_pool2d_rule, _max_pool2d_vjp,
                       save_inputs=(1,))


def _max_pool2d_backward_kernel(g, argmax, *, input_shape):
    input_shape = (g.shape[0], *input_shape[1:])  # a graph may know the batch at run time only
    grad = np.zeros(int(np.prod(input_shape)), dtype=g.dtype)
    # add.at, not assignment: overlapping windows can share a maximum.
    np.add.at(grad, argmax.ravel(), g.ravel())
    return grad.reshape(input_shape)


def _max_pool2d_backward_rule(g, argmax, *, input_shape):
    _float_rule("max_pool2d_backward", g)
    _check_argmax("max_pool2d_backward", argmax)
    if not shapes_agree(shape_of(g), shape_of(argmax)):
        raise ShapeError(at_user_site(
            f"max_pool2d_backward: gradient of shape {shape_of(g)} does not match the "
            f"positions of shape {shape_of(argmax)}"
        ))
    return tuple(input_shape), np.dtype(g.dtype)


def _max_pool2d_backward_vjp(ctx, gg):
    # Scattering is linear in g; its adjoint takes gg at the same positions.
    return max_pool2d.bind(gg, ctx.input(1)), None


max_pool2d_backward = Primitive("max_pool2d_backward", _max_pool2d_backward_kernel,
                                _max_pool2d_backward_rule, _max_pool2d_backward_vjp,
                                save_inputs=(1,))


def _avg_divisor(shape, kernel, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, dtype):
    """What each window's sum is divided by: a number, or an ``(oH, oW)`` array where
    windows differ (padding not counted, or windows cut by ``ceil_mode``), as in PyTorch."""
    if divisor_override:
        return dtype.type(divisor_override)
    counts = []
    for a in range(2):
        size, k, s, p = shape[2 + a], kernel[a], stride[a], padding[a]
        out = pool_out_size(size, k, s, p, 1, ceil_mode)
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    divisor = np.multiply.outer(counts[0], counts[1]).astype(dtype)
    return divisor.flat[0] if (divisor == divisor.flat[0]).all() else divisor


def _avg_pool2d_kernel(x, *, kernel, stride, padding, ceil_mode, count_include_pad,
                       divisor_override):
    dilation = (1, 1)
    out_hw, widths = _pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    padded = _pad_spatial(x, widths, 0)
    total = None
    for _, _, window in _windows(padded, kernel, stride, dilation, out_hw):
        if total is None:
            total = np.array(window)
        else:
            total += window
    total /= _avg_divisor(x.shape, kernel, stride, padding, ceil_mode, count_include_pad,
                          divisor_override, x.dtype)
    return total


def _avg_pool2d_rule(x, *, kernel, stride, padding, ceil_mode, count_include_pad,
                     divisor_override):
    return _pool_rule("avg_pool2d", x, kernel, stride, padding, (1, 1), ceil_mode)


def _avg_pool2d_vjp(ctx, g):
    return (avg_pool2d_backward.bind(g, input_shape=tuple(ctx.in_shapes[0]), **ctx.attrs),)


avg_pool2d = Primitive("avg_pool2d", _avg_pool2d_kernel, _avg_pool2d_rule, _avg_pool2d_vjp)


def _avg_pool2d_backward_kernel(g, *, input_shape, kernel, stride, padding, ceil_mode,
                                count_include_pad, divisor_override):
    dilation = (1, 1)
    input_shape = (g.shape[0], *input_shape[1:])  # a graph may know the batch at run time only
    out_hw, widths = _pool_geometry(input_shape, kernel, stride, padding, dilation, ceil_mode)
    share = g / _avg_divisor(input_shape, kernel, stride, padding, ceil_mode,
                             count_include_pad, divisor_override, g.dtype)
    grad = np.zeros((*input_shape[:2], *(input_shape[2 + a] + sum(widths[a])
                                         for a in range(2))), dtype=g.dtype)
    overlapping = _overlapping(kernel, stride, dilation)
    for _, _, window in _windows(grad, kernel, stride, dilation, out_hw):
        if overlapping:
            window += share
        else:
            window[...] = share
    return _crop(grad, widths, input_shape[2:])


def _avg_pool2d_backward_rule(g, *, input_shape, **attrs):
    shape = tuple(input_shape)
    out_shape, dtype = _avg_pool2d_rule(_Aval(shape, g.dtype), **attrs)
    if not shapes_agree(shape_of(g), out_shape):
        raise ShapeError(at_user_site(
            f"avg_pool2d_backward: gradient of shape {shape_of(g)} does not match the pooled "
            f"output {out_shape}"
        ))
    return shape, dtype


def _avg_pool2d_backward_vjp(ctx, gg):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "input_shape"}
    return (avg_pool2d.bind(gg, **attrs),)


avg_pool2d_backward = Primitive("avg_pool2d_backward", _avg_pool2d_backward_kernel,
                                _avg_pool2d_backward_rule, _avg_pool2d_backward_vjp)
