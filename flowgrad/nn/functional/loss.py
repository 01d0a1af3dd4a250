"""Loss functions (and the two distances ``cosine_similarity`` / ``pairwise_distance``).

Each loss is composed from flowgrad operations, so its gradient (and the gradient of that)
comes from the primitives' own rules. Arguments, defaults and results follow PyTorch,
including the legacy ``size_average``/``reduce`` arguments and the weighted mean of
``nll_loss``/``cross_entropy`` (divided by the summed weights of the targets not ignored).

Inputs are checked before anything is computed: a ``reduction`` that is not one of the known
names, targets of the wrong dtype or shape, and class indices out of range raise an error that
names the loss, the shapes or dtypes, and the line of user code that called it.
"""

from __future__ import annotations

import warnings

import numpy as np

from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions import (
    abs,
    broadcast_tensors,
    clamp,
    exp,
    gather,
    log,
    log_softmax,
    norm,
    sqrt,
    where,
)
from flowgrad.functions._convert import as_tensor_like
from flowgrad.ops import reduce as R
from flowgrad.ops.rules import broadcast_shapes, shapes_agree
from flowgrad.ops.softmax import softmax_cross_entropy
from flowgrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_similarity",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "pairwise_distance",
    "smooth_l1_loss",
]

_REDUCTIONS = ("mean", "sum", "none")

# -- shared checks ------------------------------------------------------------------------------


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """The ``reduction`` named by PyTorch's deprecated ``size_average``/``reduce`` pair."""
    warnings.warn(
        at_user_site("size_average and reduce are deprecated; use reduction='mean', 'sum' or "
                     "'none' instead"),
        DeprecationWarning,
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduction(loss: str, reduction: str, size_average=None, reduce=None,
               allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction not in allowed:
        names = ", ".join(repr(name) for name in allowed)
        raise ValueError(at_user_site(
            f"{loss}: reduction must be one of {names}, got {reduction!r}"
        ))
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _floating(loss: str, what: str, value) -> Tensor:
    """``value`` as a tensor, which must have a floating-point dtype."""
    tensor = as_tensor_like(value)
    if tensor._data.dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"{loss}: {what} must be a floating-point tensor, got {tensor.dtype} (shape "
            f"{tuple(tensor.shape)}); convert it with .float()"
        ))
    return tensor


def _same_shape(loss: str, input: Tensor, target: Tensor) -> None:
    if not shapes_agree(input.shape, target.shape):
        raise ShapeError(at_user_site(
            f"{loss}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)}; they must be equal (reshape the target, e.g. "
            f"target.view(input.shape))"
        ))


def _regression_operands(loss: str, input, target) -> tuple[Tensor, Tensor]:
    """Input and target of an elementwise regression loss; broadcasting warns, as in PyTorch."""
    input = _floating(loss, "input", input)
    target = as_tensor_like(target)
    if not shapes_agree(input.shape, target.shape):
        broadcast_shapes(loss, input.shape, target.shape)  # ShapeError when impossible
        warnings.warn(
            at_user_site(
                f"{loss}: target shape {tuple(target.shape)} differs from input shape "
                f"{tuple(input.shape)}; they are broadcast together, which is likely not what "
                f"you want (an input of shape (N, 1) and a target of shape (N,) give an N x N "
                f"loss)"
            ),
            UserWarning,
            stacklevel=3,
        )
    return input, target


def _elementwise_weight(loss: str, weight, input: Tensor) -> Tensor | None:
    if weight is None:
        return None
    weight = _floating(loss, "weight", weight)
    if not shapes_agree(weight.shape, input.shape):
        raise ShapeError(at_user_site(
            f"{loss}: weight shape {tuple(weight.shape)} differs from input shape "
            f"{tuple(input.shape)}; they must be equal"
        ))
    return weight


def _weighted_reduce(loss: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """PyTorch's ``weight=`` of mse/l1: the mean divides by the sum of the weights."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# -- regression -----------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced.

    >>> import flowgrad as fg
    >>> fg.nn.functional.mse_loss(fg.tensor([1.0, 2.0]), fg.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    input, target = _regression_operands("mse_loss", input, target)
    weight = _elementwise_weight("mse_loss", weight, input)
    diff = input - target
    return _weighted_reduce(diff * diff, weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced.

    >>> import flowgrad as fg
    >>> fg.nn.functional.l1_loss(fg.tensor([1.0, -3.0]), fg.tensor([0.0, 0.0]))
    tensor(2.)
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    input, target = _regression_operands("l1_loss", input, target)
    weight = _elementwise_weight("l1_loss", weight, input)
    return _weighted_reduce(abs(input - target), weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Squared error ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    Less sensitive to outliers than :func:`mse_loss`; ``beta=0`` is :func:`l1_loss`.

    >>> import flowgrad as fg
    >>> fg.nn.functional.smooth_l1_loss(fg.tensor([0.5, 3.0]), fg.tensor([0.0, 0.0]),
    ...                                 reduction="none")
    tensor([0.1250, 2.5000])
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(at_user_site(
            f"smooth_l1_loss: beta must be >= 0, got {beta}"
        ))
    input, target = _regression_operands("smooth_l1_loss", input, target)
    diff = input - target
    distance = abs(diff)
    if beta == 0:
        return _reduce(distance, reduction)
    loss = where(distance < beta, diff * diff * (0.5 / beta), distance - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Squared error ``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> import flowgrad as fg
    >>> fg.nn.functional.huber_loss(fg.tensor([0.5, 3.0]), fg.tensor([0.0, 0.0]),
    ...                             reduction="none", delta=2.0)
    tensor([0.1250, 4.0000])
    """
    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(at_user_site(f"huber_loss: delta must be > 0, got {delta}"))
    input, target = _regression_operands("huber_loss", input, target)
    weight = _elementwise_weight("huber_loss", weight, input)
    diff = input - target
    distance = abs(diff)
    loss = where(distance < delta, diff * diff * 0.5, (distance - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight  # PyTorch: the mean of a weighted Huber loss divides by numel
    return _reduce(loss, reduction)


# -- binary classification --------------------------------------------------------------------


def _binary_operands(loss: str, input, target) -> tuple[Tensor, Tensor]:
    input = _floating(loss, "input", input)
    target = as_tensor_like(target)
    if target._data.dtype.kind != "f":
        raise DTypeError(at_user_site(
            f"{loss}: target must be a floating-point tensor of probabilities (0/1 labels "
            f"included), got {target.dtype} (shape {tuple(target.shape)}); convert it with "
            f"target.float()"
        ))
    _same_shape(loss, input, target)
    return input, target.to(input.dtype)


def _broadcast_weight(loss: str, what: str, weight, shape: tuple) -> Tensor | None:
    if weight is None:
        return None
    weight = _floating(loss, what, weight)
    try:
        fits = shapes_agree(broadcast_shapes(loss, weight.shape, shape), tuple(shape))
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(at_user_site(
            f"{loss}: {what} of shape {tuple(weight.shape)} cannot be broadcast to the input "
            f"shape {tuple(shape)}"
        ))
    return weight


def _clamped_log(x: Tensor) -> Tensor:
    """``log(x)`` clamped at -100, as PyTorch's BCE, with finite gradients at ``x = 0``."""
    tiny = float(np.finfo(x._data.dtype).smallest_subnormal)  # log(tiny) < -100
    return clamp(log(clamp(x, min=tiny)), min=-100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape).

    ``-w (t log(x) + (1 - t) log(1 - x))``, each log clamped at -100 as in PyTorch. Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is numerically stable.

    >>> import flowgrad as fg
    >>> fg.nn.functional.binary_cross_entropy(fg.tensor([0.5, 0.9]), fg.tensor([1.0, 1.0]))
    tensor(0.3993)
    """
    loss_name = "binary_cross_entropy"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    input, target = _binary_operands(loss_name, input, target)
    weight = _broadcast_weight(loss_name, "weight", weight, input.shape)
    data = input._data
    if type(data) is np.ndarray and data.size and not (data.min() >= 0 and data.max() <= 1):
        raise ValueError(at_user_site(
            f"{loss_name}: input must hold probabilities in [0, 1], got values from "
            f"{data.min()} to {data.max()} (shape {data.shape}); for raw scores (logits) use "
            f"binary_cross_entropy_with_logits"
        ))
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _softplus_of_negative(x: Tensor) -> Tensor:
    """``log(1 + exp(-x))`` = ``-log(sigmoid(x))``, stably and with the exact gradient
    ``-sigmoid(-x)`` everywhere (x = 0 included): a two-term logsumexp shifted by a constant."""
    shift = clamp(-x.detach(), min=0.0)
    return log(exp(-shift) + exp(-x - shift)) + shift


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on raw scores: ``sigmoid`` and the loss in one stable formula.

    ``pos_weight`` (one value per class, broadcast along the last dimension) weighs the
    positive term, trading recall against precision; ``weight`` weighs each element.

    >>> import flowgrad as fg
    >>> fg.nn.functional.binary_cross_entropy_with_logits(fg.tensor([0.0, 100.0]),
    ...                                                   fg.tensor([1.0, 0.0]),
    ...                                                   reduction="none")
    tensor([  0.6931, 100.0000])
    """
    loss_name = "binary_cross_entropy_with_logits"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    input, target = _binary_operands(loss_name, input, target)
    weight = _broadcast_weight(loss_name, "weight", weight, input.shape)
    pos_weight = _broadcast_weight(loss_name, "pos_weight", pos_weight, input.shape)
    # -log(1 - sigmoid(x)) = x - log(sigmoid(x)), so the loss is (1 - t) x - lw log(sigmoid(x))
    # with lw = 1 + (pos_weight - 1) t.
    negative_log_sigmoid = _softplus_of_negative(input)
    if pos_weight is not None:
        negative_log_sigmoid = negative_log_sigmoid * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + negative_log_sigmoid
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- multi-class classification ---------------------------------------------------------------


def _class_dim(loss: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ShapeError(at_user_site(
            f"{loss}: input must have a class dimension, shape (C,), (N, C) or (N, C, d1, ...), "
            f"got a 0-d tensor"
        ))
    return 0 if input.ndim == 1 else 1


def _index_shape(input: Tensor, class_dim: int) -> tuple:
    """The shape of class-index targets for ``input``: its shape without the class dim."""
    shape = tuple(input.shape)
    return shape[:class_dim] + shape[class_dim + 1:]


def _shape_names(input: Tensor) -> str:
    return {1: "(C,)", 2: "(N, C)"}.get(input.ndim, "(N, C, d1, ...)")


def _class_weight(loss: str, weight, input: Tensor, class_dim: int) -> Tensor | None:
    if weight is None:
        return None
    weight = _floating(loss, "weight", weight)
    classes = input.shape[class_dim]
    if weight.shape != (classes,):
        raise ShapeError(at_user_site(
            f"{loss}: weight must be a 1-D tensor with one value per class ({classes} classes "
            f"for input of shape {tuple(input.shape)}), got shape {tuple(weight.shape)}"
        ))
    return weight.to(input.dtype)


def _check_index_shape(loss: str, input: Tensor, target: Tensor, class_dim: int) -> None:
    expected = _index_shape(input, class_dim)
    if not shapes_agree(tuple(target.shape), expected):
        raise ShapeError(at_user_site(
            f"{loss}: input of shape {tuple(input.shape)} {_shape_names(input)} needs class "
            f"indices of shape {expected}, got target of shape {tuple(target.shape)}"
        ))


def _check_class_indices(loss: str, input: Tensor, target: Tensor, class_dim: int,
                         ignore_index: int) -> bool:
    """Check integer class-index targets; return whether any equals ``ignore_index``."""
    _check_index_shape(loss, input, target, class_dim)
    data = target._data
    if type(data) is not np.ndarray:
        return True  # a graph's targets are known at run time: mask ignore_index there
    if not data.size:
        return False
    classes = input.shape[class_dim]
    low, high = data.min(), data.max()
    if low >= 0 and high < classes:
        return bool(low <= ignore_index <= high and (data == ignore_index).any())
    ignored = data == ignore_index
    bad = ~ignored & ((data < 0) | (data >= classes))
    if bad.any():
        raise IndexError(at_user_site(
            f"{loss}: target holds class index {data[bad].flat[0]}, out of range for "
            f"{classes} classes (input shape {tuple(input.shape)}); class indices must be in "
            f"[0, {classes - 1}] or equal ignore_index={ignore_index}"
        ))
    return bool(ignored.any())


def _nll_of_log_probs(log_probs: Tensor, target: Tensor, class_dim: int, weight: Tensor | None,
                      ignore_index: int, has_ignored: bool, reduction: str,
                      label_smoothing: float = 0.0) -> Tensor:
    """The negative log-likelihood of class-index targets, with PyTorch's semantics.

    One ``gather`` picks each target's log-probability; the mean divides by the summed
    weights of the targets that are not ignored (their count without ``weight``). This runs
    in every classifier's training step, so the common case is kept to four operations:
    the class dimension stays (size 1) until the end, and the sign is applied once.
    """
    keep = None
    if has_ignored:
        keep = target != ignore_index
        target = where(keep, target, 0)  # any valid index; these entries are masked below
        keep = keep.unsqueeze(class_dim)
    index = target.unsqueeze(class_dim)
    # ``minus_loss`` holds the log-likelihood of each target, the loss with its sign flipped.
    minus_loss = gather(log_probs, class_dim, index)
    target_weight = None
    if weight is not None:
        target_weight = weight[index]
        minus_loss = minus_loss * target_weight
    if label_smoothing > 0:
        classes = log_probs.shape[class_dim]
        if weight is not None:
            log_probs = log_probs * weight.reshape(_class_shape(log_probs.ndim, class_dim,
                                                                classes))
        uniform = log_probs.sum(class_dim, keepdim=True)
        minus_loss = minus_loss * (1 - label_smoothing) + uniform * (label_smoothing / classes)
    if keep is not None:
        minus_loss = where(keep, minus_loss, 0.0)
    if reduction == "none":
        return -minus_loss.squeeze(class_dim)
    if reduction == "sum":
        return -minus_loss.sum()
    if target_weight is None and keep is None:
        return minus_loss.sum() / -index.numel()
    if target_weight is None:
        denominator = keep.sum().to(minus_loss.dtype)
    elif keep is None:
        denominator = target_weight.sum()
    else:
        denominator = where(keep, target_weight, 0.0).sum()
    with np.errstate(invalid="ignore"):  # every target ignored: 0 / 0 is NaN, as in PyTorch
        return minus_loss.sum() / -denominator


def _class_shape(ndim: int, class_dim: int, classes: int) -> tuple:
    """The shape that broadcasts a per-class vector along ``class_dim``."""
    return tuple(classes if axis == class_dim else 1 for axis in range(ndim))


def _int_target(loss: str, target) -> Tensor:
    target = as_tensor_like(target)
    if target._data.dtype.kind not in "iu":
        raise DTypeError(at_user_site(
            f"{loss}: target must be an integer tensor of class indices, got {target.dtype} "
            f"(shape {tuple(target.shape)}); convert it with target.long()"
        ))
    return target


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities.

    ``input`` is ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` log-probabilities (from
    ``log_softmax``); ``target`` holds integer class indices of shape ``()``, ``(N,)`` or
    ``(N, d1, ...)``. Entries equal to ``ignore_index`` add nothing; with ``weight`` (one value
    per class), the mean is divided by the summed weights of the counted targets.

    >>> import flowgrad as fg
    >>> log_probs = fg.tensor([[0.25, 0.75], [0.5, 0.5]]).log()
    >>> fg.nn.functional.nll_loss(log_probs, fg.tensor([1, 0]))
    tensor(0.4904)
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    input = _floating("nll_loss", "input", input)
    target = _int_target("nll_loss", target)
    class_dim = _class_dim("nll_loss", input)
    weight = _class_weight("nll_loss", weight, input, class_dim)
    has_ignored = _check_class_indices("nll_loss", input, target, class_dim, ignore_index)
    return _nll_of_log_probs(input, target, class_dim, weight, ignore_index, has_ignored,
                             reduction)


def _cross_entropy_target_kind(input: Tensor, target: Tensor, class_dim: int) -> str:
    """``"indices"`` or ``"probabilities"``: what ``target`` holds, judged by dtype and shape,
    with an error that says which of the two it resembles when it fits neither."""
    loss = "cross_entropy"
    shape, index_shape = tuple(target.shape), _index_shape(input, class_dim)
    kind = target._data.dtype.kind
    if kind in "iu":
        if shapes_agree(shape, index_shape):
            return "indices"
        if shapes_agree(shape, tuple(input.shape)):
            raise DTypeError(at_user_site(
                f"{loss}: target has the input's shape {shape}, as class probabilities do, but "
                f"dtype {target.dtype}; class probabilities (one-hot included) must be "
                f"floating-point: use target.float(), or pass class indices of shape "
                f"{index_shape}"
            ))
    elif kind == "f":
        if shapes_agree(shape, tuple(input.shape)):
            return "probabilities"
        if shapes_agree(shape, index_shape):
            raise DTypeError(at_user_site(
                f"{loss}: target of shape {shape} holds class indices, which must be an "
                f"integer tensor, but its dtype is {target.dtype}; use target.long() (class "
                f"probabilities would have the input's shape {tuple(input.shape)})"
            ))
    else:
        raise DTypeError(at_user_site(
            f"{loss}: target must hold integer class indices or floating-point class "
            f"probabilities, got dtype {target.dtype}"
        ))
    raise ShapeError(at_user_site(
        f"{loss}: input of shape {tuple(input.shape)} {_shape_names(input)} needs class indices "
        f"of shape {index_shape} or class probabilities of shape {tuple(input.shape)}, got "
        f"target of shape {shape}"
    ))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between unnormalised scores ``input`` and a ``target``:
    ``nll_loss(log_softmax(input, class_dim), target)``.

    ``input`` is ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``. ``target`` holds either integer
    class indices (shape ``()``, ``(N,)`` or ``(N, d1, ...)``; entries equal to
    ``ignore_index`` are skipped) or floating-point class probabilities (the input's shape).
    ``weight`` gives one value per class; for class indices the mean divides by the summed
    weights of the counted targets, as in PyTorch. ``label_smoothing`` mixes the target with
    the uniform distribution.

    >>> import flowgrad as fg
    >>> logits = fg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = fg.nn.functional.cross_entropy(logits, fg.tensor([0, 2]))
    >>> loss
    tensor(0.6691, grad_fn=<SoftmaxCrossEntropyBackward>)
    >>> loss.backward()
    >>> logits.grad
    tensor([[-0.1065,  0.0533,  0.0533],
            [ 0.1667,  0.1667, -0.3333]])
    """
    loss_name = "cross_entropy"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(at_user_site(
            f"{loss_name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        ))
    input = _floating(loss_name, "input", input)
    target = as_tensor_like(target)
    class_dim = _class_dim(loss_name, input)
    kind = _cross_entropy_target_kind(input, target, class_dim)
    weight = _class_weight(loss_name, weight, input, class_dim)
    if kind == "indices" and input.ndim == 2 and weight is None and label_smoothing == 0:
        # The common case, fused (ops/softmax.py); its kernel checks the labels' range.
        _check_index_shape(loss_name, input, target, class_dim)
        return softmax_cross_entropy.bind(input, target, ignore_index=ignore_index,
                                          reduction=reduction)
    if kind == "indices":
        has_ignored = _check_class_indices(loss_name, input, target, class_dim, ignore_index)
        log_probs = log_softmax(input, class_dim)
        return _nll_of_log_probs(log_probs, target, class_dim, weight, ignore_index,
                                 has_ignored, reduction, label_smoothing)
    classes = input.shape[class_dim]
    log_probs = log_softmax(input, class_dim)
    target = target.to(input.dtype)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    products = log_probs * target
    if weight is not None:
        products = products * weight.reshape(_class_shape(input.ndim, class_dim, classes))
    return _reduce(-products.sum(class_dim), reduction)


# -- distributions ------------------------------------------------------------------------------


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)``, with ``input`` given as
    log-probabilities (and ``target`` too when ``log_target``).

    ``reduction='batchmean'`` (sum divided by the batch size) is the true KL divergence;
    ``'mean'``, the default as in PyTorch, also divides by the number of classes.

    >>> import flowgrad as fg
    >>> log_q = fg.tensor([[0.5, 0.5]]).log()
    >>> fg.nn.functional.kl_div(log_q, fg.tensor([[0.25, 0.75]]), reduction="batchmean")
    tensor(0.1308)
    """
    loss_name = "kl_div"
    reduction = _reduction(loss_name, reduction, size_average, reduce,
                           allowed=(*_REDUCTIONS, "batchmean"))
    input = _floating(loss_name, "input", input)
    target = _floating(loss_name, "target", target).to(input.dtype)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        positive = target > 0
        # xlogy(t, t): 0 where t == 0; log of 1 there keeps the gradient finite.
        loss = where(positive, target * log(where(positive, target, 1.0)), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        if not input.ndim:
            return total
        batch = input.shape[0]
        if batch is None:  # a graph's batch size, known at run time
            batch = R.count.bind(input.detach(), axes=(0,), dtype=input._data.dtype)
        return total / batch
    return _reduce(loss, reduction)


# -- distances ----------------------------------------------------------------------------------


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcasting); each norm
    is clamped at ``eps`` so zero vectors give 0, not NaN.

    >>> import flowgrad as fg
    >>> fg.nn.functional.cosine_similarity(fg.tensor([[1.0, 0.0]]), fg.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    x1 = _floating("cosine_similarity", "x1", x1)
    x2 = _floating("cosine_similarity", "x2", x2)
    if x1.shape != x2.shape:  # the norms are taken along ``dim`` of the broadcast shape
        x1, x2 = broadcast_tensors(x1, x2)
    # Clamping the squared norm keeps sqrt's gradient finite for zero vectors.
    norm1 = sqrt(clamp((x1 * x1).sum(dim, keepdim=True), min=eps * eps))
    norm2 = sqrt(clamp((x2 * x2).sum(dim, keepdim=True), min=eps * eps))
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` along the last dimension (``eps`` keeps the
    gradient finite for equal vectors).

    >>> import flowgrad as fg
    >>> fg.nn.functional.pairwise_distance(fg.tensor([[3.0, 0.0]]), fg.tensor([[0.0, 4.0]]),
    ...                                    eps=0.0)
    tensor([5.])
    """
    x1 = _floating("pairwise_distance", "x1", x1)
    x2 = _floating("pairwise_distance", "x2", x2)
    return norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim)
