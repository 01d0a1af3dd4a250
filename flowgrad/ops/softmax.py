"""``log_softmax`` along one axis, fused: NumPy cannot fuse the max, exp, sum and log of the
composite, and it sits in every classifier's loss (DESIGN.md lists it with conv and pooling)."""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import normalize_axis, shape_of, unary_float


class _Exponentials:
    """The exponentials the last ``log_softmax`` computed, with their sums: its gradient (and
    ``softmax``) needs ``exp`` of its output, which is ``exps / sums``: a division instead of
    a second ``exp`` (NumPy's float32 exp takes 2 ms per 512k values here, a division 0.3).
    One entry, taken once, for the very output array it belongs to; nothing is kept when no
    gradient can follow."""

    def __init__(self) -> None:
        self.entry: tuple | None = None

    def keep(self, out: np.ndarray, exps: np.ndarray, sums: np.ndarray) -> None:
        self.entry = (out, exps, sums) if STATE.grad_enabled else None

    def take(self, out: np.ndarray):
        entry = self.entry
        if entry is None or entry[0] is not out:
            return None
        self.entry = None
        return entry[1], entry[2]


_LAST = _Exponentials()


def _log_softmax_kernel(x, axis):
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    sums = np.add.reduce(exps, axis=axis, keepdims=True)
    shifted -= np.log(sums)
    _LAST.keep(shifted, exps, sums)
    return shifted


def _exp_kernel(log_probabilities):
    kept = _LAST.take(log_probabilities)
    if kept is None:
        return np.exp(log_probabilities)
    exps, sums = kept
    return np.divide(exps, sums, out=exps)


def _log_softmax_rule(x, axis):
    normalize_axis("log_softmax", axis, len(shape_of(x)))
    return unary_float("log_softmax")(x)


def _log_softmax_vjp(ctx, g):
    # d/dx log_softmax(x) . g = g - softmax(x) * sum(g): softmax is exp of the saved output.
    axis = ctx.attrs["axis"]
    return (g - softmax_exp.bind(ctx.output) * g.sum(dim=axis, keepdim=True),)


log_softmax = Primitive("log_softmax", _log_softmax_kernel, _log_softmax_rule,
                        _log_softmax_vjp, save_output=True)

# ``exp`` of a log_softmax's output, which is its softmax: from the forward's own
# exponentials when they are at hand (see _Exponentials), else by exp.
softmax_exp = Primitive("softmax_exp", _exp_kernel, unary_float("softmax_exp"),
                        lambda ctx, g: (g * ctx.output,), save_output=True)
