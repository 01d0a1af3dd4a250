"""``tf.nn``: activations and the softmax cross-entropy losses, with TF-1's arguments.

The losses return one value per example (reduce them with ``tf.reduce_mean``), as TF-1's do.
"""

from __future__ import annotations

import numpy as np

import flowgrad as fg
from flowgrad.compat.v1.ops import as_tensor, require_rank, scope, sigmoid, tanh
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.nn import functional as F
from flowgrad.tensor import Tensor

__all__ = ["relu", "sigmoid", "softmax", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]


def relu(features, name: str | None = None) -> Tensor:
    """``max(features, 0)``, as ``tf.nn.relu``."""
    x = as_tensor(features)
    with scope(name, x):
        return F.relu(x)


def softmax(logits, axis: int | None = -1, name: str | None = None) -> Tensor:
    """``exp(logits) / sum(exp(logits))`` along ``axis`` (the last by default), as
    ``tf.nn.softmax``."""
    x = as_tensor(logits)
    axis = -1 if axis is None else int(axis)
    require_rank("softmax", x, f"axis={axis}")
    with scope(name, x):
        return F.softmax(x, dim=axis)


def softmax_cross_entropy_with_logits(*, labels, logits, axis: int = -1,
                                      name: str | None = None) -> Tensor:
    """``-sum(labels * log_softmax(logits), axis)``: one loss per example, as TF-1's
    ``tf.nn.softmax_cross_entropy_with_logits``. ``labels`` are probabilities (one-hot rows,
    say) of the logits' shape; as in TF-1 (not its ``_v2``), no gradient flows into them.
    Named arguments only, as TF-1 requires.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     loss = tf.nn.softmax_cross_entropy_with_logits(
    ...         labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
    ...     with tf.Session() as sess:
    ...         sess.run(loss)  # log(2)
    array([0.6931472], dtype=float32)
    """
    op = "softmax_cross_entropy_with_logits"
    logits, labels = as_tensor(logits), as_tensor(labels)
    _check_float(op, "logits", logits)
    if not labels.dtype.is_floating_point:
        raise DTypeError(at_user_site(
            f"{op}: labels have dtype {labels.dtype}; expected probabilities of the logits' "
            f"dtype {logits.dtype} (one-hot rows); for class indices use "
            f"sparse_softmax_cross_entropy_with_logits"
        ))
    if _shapes_conflict(labels._data.shape, logits._data.shape):
        raise ShapeError(at_user_site(
            f"{op}: labels of shape {_show(labels)} and logits of shape {_show(logits)}; "
            f"expected the same shape"
        ))
    require_rank(op, logits, f"axis={axis}")
    with scope(name, labels, logits):
        log_probs = F.log_softmax(logits, dim=axis)
        return -(labels.detach().to(log_probs.dtype) * log_probs).sum(dim=axis)


def sparse_softmax_cross_entropy_with_logits(*, labels, logits, name: str | None = None
                                             ) -> Tensor:
    """``-log_softmax(logits)[..., labels]``: one loss per example, as TF-1's
    ``tf.nn.sparse_softmax_cross_entropy_with_logits``. ``labels`` are integer class indices
    of shape ``logits.shape[:-1]``; an index outside ``[0, classes)`` gives NaN (as TF on a
    GPU; TF on a CPU raises). Named arguments only, as TF-1 requires.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
    ...         labels=[1, 0], logits=[[0.0, 0.0], [0.0, 0.0]])
    ...     with tf.Session() as sess:
    ...         sess.run(loss)
    array([0.6931472, 0.6931472], dtype=float32)
    """
    op = "sparse_softmax_cross_entropy_with_logits"
    logits, labels = as_tensor(logits), as_tensor(labels)
    _check_float(op, "logits", logits)
    if labels.dtype.is_floating_point or labels.dtype is fg.bool_:
        raise DTypeError(at_user_site(
            f"{op}: labels have dtype {labels.dtype}; expected integer class indices (int32 "
            f"or int64); for probabilities use softmax_cross_entropy_with_logits"
        ))
    rank = require_rank(op, logits, "the class axis")
    classes = logits._data.shape[-1]
    label_shape = labels._data.shape
    if rank == 0 or classes is None or (
            label_shape is not None and _shapes_conflict(label_shape, logits._data.shape[:-1])):
        raise ShapeError(at_user_site(
            f"{op}: labels of shape {_show(labels)} and logits of shape {_show(logits)}; "
            f"expected logits of shape labels.shape + (classes,), with a known class count"
        ))
    with scope(name, labels, logits):
        log_probs = F.log_softmax(logits, dim=-1)
        # A one-hot mask (class ids (classes, 1, ..., 1) against the labels, the class axis
        # then moved last) rather than a gather: a label outside [0, classes) selects nothing
        # and gives NaN below, where a gather would wrap a negative one or fail mid-run.
        class_ids = np.arange(classes).reshape((classes,) + (1,) * (rank - 1))
        one_hot = (fg.constant(class_ids, dtype=labels.dtype) == labels)
        one_hot = one_hot.permute(*range(1, rank), 0).to(log_probs.dtype)
        loss = -(log_probs * one_hot).sum(dim=-1)
        in_range = one_hot.sum(dim=-1) > 0
        return fg.where(in_range, loss, float("nan"))


def _check_float(op: str, what: str, tensor: Tensor) -> None:
    if not tensor.dtype.is_floating_point:
        raise DTypeError(at_user_site(
            f"{op}: {what} have dtype {tensor.dtype}; expected a floating-point dtype"
        ))


def _shapes_conflict(a, b) -> bool:
    """Whether two static shapes (``None``: unknown) certainly differ."""
    if a is None or b is None:
        return False
    if len(a) != len(b):
        return True
    return any(x is not None and y is not None and x != y for x, y in zip(a, b, strict=True))


def _show(tensor: Tensor) -> str:
    from flowgrad.graph.ir import format_shape

    return format_shape(tensor._data.shape)
