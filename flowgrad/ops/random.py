"""Random primitives: values drawn when the kernel runs, from flowgrad's generator.

In eager mode that is at once; in a graph it is at every run, so a dropout mask is new for
each batch (never a constant baked in when the graph was built). ``random=True`` tells the
graph passes not to fold, merge or otherwise treat two draws as one value.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import DTypeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import shape_of


def _mask_shape(shape: tuple, channel_dims: int | None) -> tuple:
    if channel_dims is None:
        return tuple(shape)
    return tuple(shape[:channel_dims]) + (1,) * (len(shape) - channel_dims)


def _keep_mask_kernel(x, p, channel_dims, generator):
    from flowgrad.random import resolve

    if type(x) is not np.ndarray:
        raise TypeError("keep_mask draws for an array")  # a graph node: bind builds a node
    dtype = x.dtype
    if dtype.kind != "f":
        raise TypeError("dropout of a non-float tensor")  # bind reports the rule's error
    draw_dtype = np.float32 if dtype == np.float32 else np.float64  # what NumPy can draw
    draws = resolve(generator).random(_mask_shape(x.shape, channel_dims), dtype=draw_dtype)
    return np.where(draws >= p, dtype.type(1.0 / (1.0 - p)), dtype.type(0))


def _keep_mask_rule(x, p, channel_dims, generator):
    dtype = np.dtype(x.dtype)
    if dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"dropout: expected a floating-point tensor, got {dtype}; convert it with .float()"
        ))
    return _mask_shape(shape_of(x), channel_dims), dtype


# Dropout's mask for ``x``: ``1 / (1 - p)`` where an element (or, with ``channel_dims``, a
# whole channel) is kept, with probability ``1 - p``, and 0 where it is dropped.
keep_mask = Primitive("keep_mask", _keep_mask_kernel, _keep_mask_rule, random=True)


def _draw_kernel(token, kind, shape, dtype, generator, low=0, high=1):
    from flowgrad.random import resolve

    if type(token) is not np.ndarray:
        raise TypeError("draw runs on arrays")  # a graph node: bind builds a node
    rng = resolve(generator)
    if kind == "uniform":
        data = rng.random(shape, dtype=np.float64)
    elif kind == "normal":
        data = rng.standard_normal(shape, dtype=np.float64)
    else:
        data = rng.integers(low, high, size=shape)
    return data.astype(dtype, copy=False)


# Samples of a static shape, drawn when the kernel runs: what fg.rand/randn/randint become
# inside a traced function (``token`` only ties the node to the trace's graph).
draw = Primitive("draw", _draw_kernel,
                 lambda token, kind, shape, dtype, generator, low=0, high=1: (
                     tuple(shape), np.dtype(dtype)), random=True)
