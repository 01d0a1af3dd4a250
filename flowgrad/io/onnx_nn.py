"""ONNX translations of the fused NN primitives: convolution (and its input gradient, which
is the transposed convolution), pooling, log-softmax and softmax cross-entropy; and of the
random draws (dropout's mask), which ONNX makes afresh at every run.

Pooling pads are made explicit: PyTorch's ``ceil_mode`` keeps a last window only when it
starts inside the input or its left padding, which ONNX's ``ceil_mode`` does not promise, so
the exporter pads the bottom and right by exactly what flowgrad's windows reach. Average
pooling then divides by flowgrad's own divisor (padding counted or not, windows cut by
``ceil_mode``, ``divisor_override``), so every window matches.
"""

from __future__ import annotations

import numpy as np

from flowgrad.graph.ir import Node
from flowgrad.io.onnx_builder import Builder, Unsupported
from flowgrad.ops.nn import _avg_divisor, _pool_geometry


def _conv_attrs(node: Node) -> dict:
    (top, bottom), (left, right) = node.attrs["padding"]
    return {"strides": list(node.attrs["stride"]), "dilations": list(node.attrs["dilation"]),
            "group": node.attrs["groups"], "pads": [top, left, bottom, right]}


def _conv2d(b: Builder, node: Node, args: list) -> str:
    kernel = list(node.inputs[1].shape[2:])
    return b.op("Conv", *args, kernel_shape=kernel, **_conv_attrs(node))


def _conv2d_backward_input(b: Builder, node: Node, args: list) -> str:
    """The gradient of a convolution with respect to its input is ConvTranspose; its ONNX
    pads crop the full transposed output, and rows no window reaches are zeros."""
    attrs = node.attrs
    grad_hw = node.inputs[0].shape[2:]
    size_hw = tuple(attrs["input_shape"][2:])
    kernel = node.inputs[1].shape[2:]
    if None in grad_hw or None in size_hw:
        raise Unsupported("a transposed convolution whose height or width is known only at "
                          "run time; give the input's spatial sizes")
    begins, ends, extra = [], [], []
    for axis in range(2):
        stride, dilation = attrs["stride"][axis], attrs["dilation"][axis]
        full = stride * (grad_hw[axis] - 1) + dilation * (kernel[axis] - 1) + 1
        begin = attrs["padding"][axis][0]
        end = full - begin - size_hw[axis]
        begins.append(begin)
        ends.append(max(end, 0))
        extra.append(max(-end, 0))
    out = b.op("ConvTranspose", *args, kernel_shape=list(kernel),
               strides=list(attrs["stride"]), dilations=list(attrs["dilation"]),
               group=attrs["groups"], pads=begins + ends)
    if any(extra):
        out = b.op("Pad", out, b.ints([0, 0, 0, 0, 0, 0, *extra]), mode="constant")
    return out


def _pool_pads(node: Node, kernel, stride, padding, dilation, ceil_mode) -> list[int]:
    """ONNX ``pads`` (top, left, bottom, right) that make flowgrad's windows, no more."""
    shape = node.inputs[0].shape
    if ceil_mode:
        if None in shape[2:]:
            raise Unsupported("pooling with ceil_mode=True on an input whose height or width "
                              "is known only at run time")
        _, widths = _pool_geometry(shape, kernel, stride, padding, dilation, True)
    else:
        widths = ((padding[0], padding[0]), (padding[1], padding[1]))
    return [widths[0][0], widths[1][0], widths[0][1], widths[1][1]]


def _max_pool(b: Builder, argmax: Node, x: str, outputs: int):
    """ONNX MaxPool with the geometry of a ``max_pool2d_argmax`` node: the pooled values,
    and with ``outputs=2`` the flat positions of the maxima too."""
    attrs = argmax.attrs
    kernel = attrs["kernel"]
    pads = _pool_pads(argmax, kernel, attrs["stride"], attrs["padding"], attrs["dilation"],
                      attrs["ceil_mode"])
    if any(pad >= kernel[i % 2] for i, pad in enumerate(pads)):
        # ONNX Runtime wants pads below the kernel size (dilated windows with ceil_mode can
        # reach further): pad with -inf first. The positions would count those pads.
        if outputs == 2:
            raise Unsupported(f"max pooling positions (return_indices=True) of windows that "
                              f"need padding {pads}, not below the kernel size {kernel}")
        top, left, bottom, right = pads
        x = b.op("Pad", x, b.ints([0, 0, top, left, 0, 0, bottom, right]),
                 b.scalar(-np.inf, argmax.inputs[0].dtype), mode="constant")
        pads = [0, 0, 0, 0]
    return b.op("MaxPool", x, outputs=outputs, kernel_shape=list(attrs["kernel"]),
                strides=list(attrs["stride"]), dilations=list(attrs["dilation"]), pads=pads,
                ceil_mode=0, storage_order=0)


def _max_pool2d_argmax(b: Builder, node: Node, args: list) -> str:
    values, indices = _max_pool(b, node, args[0], outputs=2)
    b.extra[node] = values  # max_pool2d of the same input takes these
    return indices


def pools_own_input(node: Node) -> bool:
    """Whether a ``max_pool2d`` node takes the maxima of its own input's windows: then one
    MaxPool computes it, and the positions are not needed."""
    x, positions = node.inputs
    return positions.op == "max_pool2d_argmax" and positions.inputs[0] is x


def _max_pool2d(b: Builder, node: Node, args: list) -> str:
    positions = node.inputs[1]
    if pools_own_input(node):  # (exported positions come with these values: reuse them)
        return b.extra.get(positions) or _max_pool(b, positions, args[0], outputs=1)
    # Positions from elsewhere: take the flat input at them.
    return b.op("Gather", b.op("Reshape", args[0], b.ints([-1])), args[1], axis=0)


def _avg_pool2d(b: Builder, node: Node, args: list) -> str:
    attrs = node.attrs
    kernel, stride, padding = attrs["kernel"], attrs["stride"], attrs["padding"]
    dtype = node.dtype
    pads = _pool_pads(node, kernel, stride, padding, (1, 1), attrs["ceil_mode"])
    # Every window lies inside the explicitly padded input, so ONNX divides by the kernel's
    # size; flowgrad's divisor replaces it where they differ.
    mean = b.op("AveragePool", args[0], kernel_shape=list(kernel), strides=list(stride),
                pads=pads, count_include_pad=1)
    size = kernel[0] * kernel[1]
    # Without ceil_mode, windows reach only into the padding, and count it when asked to.
    counted = attrs["count_include_pad"] or tuple(padding) == (0, 0)
    if counted and not attrs["ceil_mode"] and attrs["divisor_override"] in (None, 0, size):
        return mean
    shape = node.inputs[0].shape
    if None in shape[2:]:
        raise Unsupported("average pooling with ceil_mode, count_include_pad=False or a "
                          "divisor_override, on an input whose height or width is known only "
                          "at run time")
    divisor = _avg_divisor(shape, kernel, stride, padding, attrs["ceil_mode"],
                           attrs["count_include_pad"], attrs["divisor_override"],
                           np.dtype(np.float64))
    factor = np.asarray(size / np.asarray(divisor), dtype=dtype)
    return mean if np.all(factor == 1) else b.op("Mul", mean, b.const(factor))


def _log_softmax(b: Builder, node: Node, args: list) -> str:
    return b.op("LogSoftmax", args[0], axis=node.attrs["axis"])


def softmax_of(node: Node) -> Node | None:
    """The ``log_softmax`` whose ``exp`` a ``softmax_exp`` node is, if it is one: then it
    is the softmax of that node's input, and the log-softmax itself is not needed."""
    (source,) = node.inputs
    return source if source.op == "log_softmax" else None


def _softmax_exp(b: Builder, node: Node, args: list) -> str:
    source = softmax_of(node)
    if source is not None:
        return b.op("Softmax", b.values[source.inputs[0]], axis=source.attrs["axis"])
    return b.op("Exp", args[0])


def _softmax_cross_entropy(b: Builder, node: Node, args: list) -> str:
    return b.op("SoftmaxCrossEntropyLoss", *args, reduction=node.attrs["reduction"],
                ignore_index=node.attrs["ignore_index"])


# -- random draws ----------------------------------------------------------------------------

_DRAWN = (np.float16, np.float32, np.float64)


def _draw(b: Builder, node: Node, args: list) -> str:
    attrs = node.attrs
    kind, shape, dtype = attrs["kind"], list(attrs["shape"]), np.dtype(attrs["dtype"])
    drawn = dtype if dtype in _DRAWN and kind != "integers" else np.dtype(np.float64)
    if kind == "normal":
        values = b.op("RandomNormal", shape=shape, dtype=b.elem_type(drawn))
    elif kind == "uniform":
        values = b.op("RandomUniform", shape=shape, dtype=b.elem_type(drawn))
    else:  # integers in [low, high): the floor of a uniform draw there
        values = b.op("Floor", b.op("RandomUniform", shape=shape, dtype=b.elem_type(drawn),
                                    low=float(attrs.get("low", 0)),
                                    high=float(attrs.get("high", 1))))
    return values if drawn == dtype else b.cast(values, dtype)


def _keep_mask(b: Builder, node: Node, args: list) -> str:
    dtype, p = node.dtype, node.attrs["p"]
    channel_dims = node.attrs["channel_dims"]
    shape = b.shape(args[0])
    if channel_dims is not None:  # one draw per channel: the trailing sizes are 1
        rest = node.inputs[0].ndim - channel_dims
        shape = b.op("Concat", b.op("Slice", shape, b.ints([0]), b.ints([channel_dims])),
                     b.ints([1] * rest), axis=0)
    draws = b.op("RandomUniformLike", b.full(shape, 0, dtype), dtype=b.elem_type(dtype))
    with np.errstate(divide="ignore"):
        scale = np.float64(1.0) / np.float64(1.0 - p)
    return b.op("Where", b.op("GreaterOrEqual", draws, b.scalar(p, dtype)),
                b.scalar(scale, dtype), b.scalar(0, dtype))


NN = {
    "conv2d": _conv2d, "conv2d_backward_input": _conv2d_backward_input,
    "max_pool2d_argmax": _max_pool2d_argmax, "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d, "log_softmax": _log_softmax, "softmax_exp": _softmax_exp,
    "softmax_cross_entropy": _softmax_cross_entropy, "draw": _draw, "keep_mask": _keep_mask,
}
