"""``log_softmax`` along one axis, fused: NumPy cannot fuse the max, exp, sum and log of the
composite, and it sits in every classifier's loss (DESIGN.md lists it with conv and pooling)."""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.errors import ShapeError, at_user_site
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

    def keep(self, out: np.ndarray, *values) -> None:
        """Keep ``values`` (the exponentials, their sums, and whatever else the gradient
        would compute again) for the gradient of ``out``."""
        self.entry = (out, values) if STATE.grad_enabled else None

    def take(self, out: np.ndarray) -> tuple | None:
        entry = self.entry
        if entry is None or entry[0] is not out:
            return None
        self.entry = None
        return entry[1]


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


# -- softmax cross-entropy, fused ---------------------------------------------------------------
#
# ``cross_entropy(logits, labels)`` of (N, C) scores and (N,) class indices, the loss of every
# classifier: per sample ``log(sum(exp(x - max))) - (x[label] - max)``, then the reduction.
# Composed from log_softmax, gather, sum and a division it costs a full (N, C) pass and five
# recorded operations per step, and a one-hot scatter in its gradient; fused, the forward is
# one exp pass and the gradient one multiply, reusing the forward's exponentials (as
# _Exponentials does for log_softmax). Labels equal to ``ignore_index`` count for nothing.

_LAST_CE = _Exponentials()
_REDUCTIONS = ("none", "mean", "sum")


def _labels(logits, labels, ignore_index):
    """The labels to index with (ignored ones as 0), and the mask of kept ones (None: all).

    Small batches make this per-call cost count: one unsigned comparison finds labels out of
    [0, C) (negative ones wrap to large), and the usual ignore_index (-100) is among them."""
    classes = logits.shape[1]
    unsigned = labels.view(labels.dtype.str.replace("i", "u"))
    outside = np.count_nonzero(unsigned >= classes)
    if not outside and not 0 <= ignore_index < classes:
        return labels, None
    kept = labels != ignore_index
    bad = kept & (unsigned >= classes) if outside else None
    if bad is not None and bad.any():
        raise IndexError(at_user_site(
            f"cross_entropy: target holds class index {labels[bad].flat[0]}, out of range for "
            f"{classes} classes (input shape {logits.shape}); class indices must be in "
            f"[0, {classes - 1}] or equal ignore_index={ignore_index}"
        ))
    if kept.all():
        return labels, None
    return np.where(kept, labels, 0), kept


def _rows(count: int) -> np.ndarray:
    rows = _ROWS.get(count)
    if rows is None:
        if len(_ROWS) > 16:
            _ROWS.clear()
        rows = _ROWS[count] = np.arange(count)
        rows.flags.writeable = False
    return rows


_ROWS: dict[int, np.ndarray] = {}  # np.arange(N) by N: the row index of every label pick


def _exponentials(logits, safe):
    """exp(x - max) per row (a new array), its row sums, and each row's shifted label score."""
    exps = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
    picked = exps[_rows(len(safe)), safe]
    np.exp(exps, out=exps)
    return exps, np.add.reduce(exps, axis=1), picked


def _counted(safe, kept) -> int:
    return len(safe) if kept is None else int(np.count_nonzero(kept))


def _cross_entropy_kernel(logits, labels, ignore_index, reduction):
    safe, kept = _labels(logits, labels, ignore_index)
    exps, sums, picked = _exponentials(logits, safe)
    losses = np.log(sums)
    losses -= picked
    if kept is not None:
        losses[~kept] = 0
    if reduction != "none":
        total = np.add.reduce(losses)
        if reduction == "mean":  # over nothing (every label ignored): NaN, as in PyTorch
            count = _counted(safe, kept)
            total = total / losses.dtype.type(count) if count else losses.dtype.type(np.nan)
        losses = np.asarray(total, dtype=logits.dtype)
    _LAST_CE.keep(losses, exps, sums, labels, safe, kept)
    return losses


def _cross_entropy_rule(logits, labels, ignore_index, reduction):
    shape, label_shape = shape_of(logits), shape_of(labels)
    if len(shape) != 2 or len(label_shape) != 1 or np.dtype(labels.dtype).kind not in "iu":
        raise ShapeError(at_user_site(
            f"softmax_cross_entropy: needs (N, C) scores and (N,) integer labels, got "
            f"{shape} {np.dtype(logits.dtype)} and {label_shape} {np.dtype(labels.dtype)}"
        ))
    if reduction not in _REDUCTIONS:
        raise ValueError(f"softmax_cross_entropy: reduction must be one of {_REDUCTIONS}, "
                         f"got {reduction!r}")
    dtype = unary_float("softmax_cross_entropy")(logits)[1]
    return (shape[:1] if reduction == "none" else ()), dtype


def _cross_entropy_vjp(ctx, g):
    logits, labels = ctx.inputs
    return cross_entropy_grad.bind(logits, labels, ctx.output, g, **ctx.attrs), None


def _cross_entropy_grad_kernel(logits, labels, out, g, ignore_index, reduction):
    """(softmax(x) - onehot(label)) times each row's share of ``g``; ignored rows 0."""
    cached = _LAST_CE.take(out)
    if cached is not None and cached[2] is labels:  # the forward's work, labels checked
        exps, sums, _, safe, kept = cached
    else:
        safe, kept = _labels(logits, labels, ignore_index)
        exps, sums, _ = _exponentials(logits, safe)
    share = g  # each row's: the (N,) g of reduction="none", else one number
    if reduction == "mean":
        count = _counted(safe, kept)
        share = g / g.dtype.type(count) if count else g * 0
    if kept is not None:
        share = np.where(kept, share, 0).astype(g.dtype, copy=False)
    factors = share / sums
    grad = np.multiply(exps, factors[:, None] if factors.ndim else factors, out=exps)
    grad[_rows(len(safe)), safe] -= share
    return grad


def _cross_entropy_grad_rule(logits, labels, out, g, ignore_index, reduction):
    return shape_of(logits), np.dtype(logits.dtype)


def _cross_entropy_grad_vjp(ctx, h):
    # The gradient is G * (p - onehot) per row, with p = softmax(x) and G each row's share of
    # g (0 where ignored): its derivative in x is G * p * (h - sum(h * p)), and in g the rows'
    # sum(h * p) - h[label], reduced as the forward reduced.
    logits, labels, _, g = ctx.inputs
    ignore_index, reduction = ctx.attrs["ignore_index"], ctx.attrs["reduction"]
    kept = labels != ignore_index
    safe = labels.where(kept, 0).unsqueeze(1)
    mask = kept.to(g.dtype)
    share = mask
    if reduction == "mean":
        share = mask / mask.sum()
    p = log_softmax.bind(logits, axis=1).exp()
    hp = h * p
    d_logits = (g * share).unsqueeze(1) * (hp - p * hp.sum(dim=1, keepdim=True))
    d_rows = (hp.sum(dim=1) - h.gather(1, safe).squeeze(1)) * share
    return d_logits, None, None, (d_rows if reduction == "none" else d_rows.sum())


softmax_cross_entropy = Primitive(
    "softmax_cross_entropy", _cross_entropy_kernel, _cross_entropy_rule, _cross_entropy_vjp,
    save_inputs=(0, 1), save_output=True)
cross_entropy_grad = Primitive(
    "cross_entropy_grad", _cross_entropy_grad_kernel, _cross_entropy_grad_rule,
    _cross_entropy_grad_vjp, save_inputs=(0, 1, 3))
