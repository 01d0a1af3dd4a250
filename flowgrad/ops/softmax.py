"""``log_softmax`` along one axis, fused: NumPy cannot fuse the max, exp, sum and log of the
composite, and it sits in every classifier's loss (DESIGN.md lists it with conv and pooling)."""

from __future__ import annotations

import numpy as np

from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import normalize_axis, shape_of, unary_float


def _log_softmax_kernel(x, axis):
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    shifted -= np.log(np.add.reduce(exps, axis=axis, keepdims=True))
    return shifted


def _log_softmax_rule(x, axis):
    normalize_axis("log_softmax", axis, len(shape_of(x)))
    return unary_float("log_softmax")(x)


def _log_softmax_vjp(ctx, g):
    # d/dx log_softmax(x) . g = g - softmax(x) * sum(g): softmax is exp of the saved output.
    axis = ctx.attrs["axis"]
    return (g - ctx.output.exp() * g.sum(dim=axis, keepdim=True),)


log_softmax = Primitive("log_softmax", _log_softmax_kernel, _log_softmax_rule,
                        _log_softmax_vjp, save_output=True)
