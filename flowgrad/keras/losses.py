"""Keras losses (``keras.losses``): Keras 3's names, defaults and numbers, in flowgrad ops.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a scalar
tensor; :meth:`Loss.call` gives the per-sample values. Both are flowgrad operations, so the
result backpropagates into ``y_pred`` and traces inside ``fg.compile``. Probabilities are
clipped to ``[1e-7, 1 - 1e-7]`` before a log, and the reductions weigh and divide as Keras 3
does: ``"sum_over_batch_size"`` (the default) and ``"mean"`` divide the weighted sum by the
number of values, ``"mean_with_sample_weight"`` by the sum of the weights.

>>> from flowgrad.keras import losses
>>> mse = losses.get("mse")
>>> mse([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]])
tensor(0.5000)
>>> mse([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]], sample_weight=[1.0, 0.0])
tensor(0.2500)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from flowgrad import functions as fn
from flowgrad.dtypes import get_default_dtype
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions._convert import as_tensor_like
from flowgrad.nn.functional import binary_cross_entropy_with_logits, cross_entropy
from flowgrad.ops.rules import broadcast_shapes, shapes_agree
from flowgrad.tensor import Tensor

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "LossFunctionWrapper",
           "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy",
           "deserialize", "get", "serialize"]

EPSILON = 1e-7  # keras.backend.epsilon(): how far probabilities are kept from 0 and 1
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# -- converting and checking the operands ------------------------------------------------------


def _prediction(y_pred) -> Tensor:
    """``y_pred`` as a floating tensor: arrays become the default float (as Keras converts to
    float32), so do integer tensors; a floating tensor keeps its dtype (float64 stays)."""
    if not isinstance(y_pred, Tensor):
        y_pred = as_tensor_like(np.asarray(y_pred, dtype=get_default_dtype().np))
    elif not y_pred.is_floating_point():
        y_pred = y_pred.to(get_default_dtype())
    return y_pred


def _floats_like(values, like: Tensor) -> Tensor:
    return as_tensor_like(values).to(like.dtype)


def _match_rank(x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's rule for operands whose ranks differ by one: a trailing dimension of size one
    is dropped from the longer one, or added to the other when that one is rank 1."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        return (x1, x2.unsqueeze(-1)) if x2.ndim == 1 else (x1.squeeze(-1), x2)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        return (x1.unsqueeze(-1), x2) if x1.ndim == 1 else (x1, x2.squeeze(-1))
    return x1, x2


def _check_batch(where: str, y_true: Tensor, y_pred: Tensor, sample_weight) -> None:
    """The labels, predictions and sample weights describe the same samples."""
    if y_pred.ndim == 0:
        raise ShapeError(at_user_site(
            f"{where}: y_pred must have a batch dimension, got a 0-d value"))
    batch = y_pred.shape[0]
    others = [("y_true", y_true)]
    if isinstance(sample_weight, Tensor) and sample_weight.ndim:
        others.append(("sample_weight", sample_weight))
    for what, other in others:
        size = other.shape[0] if other.ndim else None
        if size is not None and batch is not None and size != batch:
            raise ShapeError(at_user_site(
                f"{where}: {what} holds {size} samples (shape {tuple(other.shape)}) but y_pred "
                f"holds {batch} (shape {tuple(y_pred.shape)}); they must describe the same "
                f"batch"))


def _same_shape(where: str, y_true, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Float labels shaped like the predictions (up to a trailing dimension of one)."""
    y_true, y_pred = _match_rank(_floats_like(y_true, y_pred), y_pred)
    if not shapes_agree(tuple(y_true.shape), tuple(y_pred.shape)):
        raise ShapeError(at_user_site(
            f"{where}: y_true of shape {tuple(y_true.shape)} and y_pred of shape "
            f"{tuple(y_pred.shape)} must have the same shape (a trailing dimension of size 1 "
            f"may be left out of one of them)"))
    return y_true, y_pred


def _check_fraction(where: str, what: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}: {what} must be between 0 and 1, got {value!r}")
    return float(value)


# -- weighting and reducing --------------------------------------------------------------------


def _divide_no_nan(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator``, and 0 where the denominator is 0 (as Keras divides)."""
    zero = denominator == 0
    return fn.where(zero, 0.0, numerator / fn.where(zero, 1.0, denominator))


def _weighted(where: str, values: Tensor, sample_weight: Tensor | None,
              mask: Tensor | None, reduction: str | None) -> Tensor:
    """Keras's reduction of per-sample ``values``: weigh them by ``sample_weight`` (and by
    ``mask``, the entries a loss ignores), then sum or average as ``reduction`` says."""
    if mask is not None:
        mask = mask.to(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            # each kept value counts for total / kept ones: the mean runs over the kept values
            mask = mask / mask.mean().clamp(min=float(np.finfo(np.float32).tiny))
        if sample_weight is None:
            sample_weight = mask
        else:
            mask, sample_weight = _match_rank(mask, sample_weight)
            sample_weight = sample_weight * mask
    if sample_weight is not None:
        values, sample_weight = _match_rank(values, sample_weight)
        try:
            broadcast_shapes(where, tuple(values.shape), tuple(sample_weight.shape))
        except ValueError:
            raise ShapeError(at_user_site(
                f"{where}: sample_weight of shape {tuple(sample_weight.shape)} does not "
                f"broadcast to the per-sample losses of shape {tuple(values.shape)}")) from None
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0:
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(values.sum(), sample_weight.sum())
    if type(values._data) is np.ndarray and values._data.size == 0:
        return values.sum()  # an empty batch: nothing to divide
    return values.mean()


# -- the losses --------------------------------------------------------------------------------


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Loss:
    """Base class of Keras losses: ``__call__`` converts, checks, weighs and reduces;
    a subclass defines :meth:`call`, the loss of each sample.

    ``reduction`` is one of ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
    ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{list(REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        self.name = name or _snake_case(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        """The reduced loss of a batch: a scalar tensor (per-sample values for ``"none"``)."""
        y_pred = _prediction(y_pred)
        y_true = as_tensor_like(y_true)
        if sample_weight is not None:
            sample_weight = _floats_like(sample_weight, y_pred)
        _check_batch(self._where, y_true, y_pred, sample_weight)
        values, mask = self._values(y_true, y_pred)
        return _weighted(self._where, values, sample_weight, mask, self.reduction)

    def call(self, y_true, y_pred) -> Tensor:
        """The loss of each sample (the batch shape, or a scalar for one sample)."""
        raise NotImplementedError(f"{type(self).__name__} does not define call()")

    def _values(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        """Per-sample losses and a mask of the entries that count (``None``: all do)."""
        return self.call(y_true, y_pred), None

    @property
    def _where(self) -> str:
        return type(self).__name__

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for :meth:`from_config` and model saving."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """A loss made from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` of per-sample losses (flowgrad
    operations), reduced like every Keras loss.

    >>> from flowgrad.keras import losses
    >>> loss = losses.LossFunctionWrapper(lambda t, p: (p - t).abs().sum(-1), reduction="sum")
    >>> loss([[1.0, 2.0]], [[0.0, 0.0]])
    tensor(3.)
    """

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(reduction, name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        y_pred = _prediction(y_pred)
        y_true, y_pred = _match_rank(as_tensor_like(y_true), y_pred)
        return as_tensor_like(self.fn(y_true, y_pred, **self.fn_kwargs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)),
                **self.fn_kwargs}


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred)**2)`` over the last axis, then reduced over the batch.

    >>> from flowgrad.keras import losses
    >>> losses.MeanSquaredError()([[1.0], [3.0]], [[0.0], [0.0]])
    tensor(5.)
    """

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = _same_shape(self._where, y_true, _prediction(y_pred))
        return (y_true - y_pred).square().mean(-1)


class MeanAbsoluteError(Loss):
    """``mean(abs(y_true - y_pred))`` over the last axis, then reduced over the batch.

    >>> from flowgrad.keras import losses
    >>> losses.MeanAbsoluteError()([[1.0], [3.0]], [[0.0], [0.0]])
    tensor(2.)
    """

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = _same_shape(self._where, y_true, _prediction(y_pred))
        return (y_true - y_pred).abs().mean(-1)


class BinaryCrossentropy(Loss):
    """Cross-entropy of 0/1 labels and probabilities (or logits, with ``from_logits=True``),
    averaged over ``axis``. ``label_smoothing`` moves the labels towards 0.5.

    >>> from flowgrad.keras import losses
    >>> losses.BinaryCrossentropy()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])
    tensor(0.8149)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str | None = "binary_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_fraction(self._where, "label_smoothing", label_smoothing)
        self.axis = axis

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = _same_shape(self._where, y_true, _prediction(y_pred))
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            values = binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        else:
            p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
            values = -(y_true * p.log() + (1.0 - y_true) * (1.0 - p).log())
        return values.mean(self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(Loss):
    """Cross-entropy of one-hot (or soft) labels and class probabilities along ``axis``;
    logits with ``from_logits=True``. Probabilities are renormalised to sum to one, then
    clipped, as Keras does. ``label_smoothing`` mixes the labels with the uniform distribution.

    >>> from flowgrad.keras import losses
    >>> losses.CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]],
    ...                                  [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    tensor(1.1769)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str | None = "categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_fraction(self._where, "label_smoothing", label_smoothing)
        self.axis = axis

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = _same_shape(self._where, y_true, _prediction(y_pred))
        classes = y_pred.shape[self.axis]
        if classes == 1:
            warnings.warn(f"{self._where}: y_pred of shape {tuple(y_pred.shape)} has one class; "
                          f"for two classes use BinaryCrossentropy", stacklevel=3)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        if self.from_logits:
            log_probs = fn.log_softmax(y_pred, self.axis)
        else:
            probs = y_pred / y_pred.sum(self.axis, keepdim=True)
            log_probs = probs.clamp(EPSILON, 1.0 - EPSILON).log()
        return -(y_true * log_probs).sum(self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


# Reductions that the fused cross-entropy kernel computes itself (no weights, no mask).
_FUSED_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean",
                     "mean_with_sample_weight": "mean", "sum": "sum"}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of integer class labels (shape ``(N,)`` or ``(N, 1)``, integer or float
    holding integers) and class probabilities, or logits with ``from_logits=True``. Labels
    equal to ``ignore_class`` add nothing, and the mean runs over the others.

    It runs on flowgrad's fused cross-entropy kernel (probabilities go in as their clipped
    logarithms, which the kernel renormalises exactly as Keras does).

    >>> from flowgrad.keras import losses
    >>> losses.SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    tensor(1.1769)
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size",
                 name: str | None = "sparse_categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        fused = _FUSED_REDUCTIONS.get(self.reduction)
        if sample_weight is not None or self.ignore_class is not None or fused is None:
            return super().__call__(y_true, y_pred, sample_weight)
        y_pred, y_true = _prediction(y_pred), as_tensor_like(y_true)
        _check_batch(self._where, y_true, y_pred, None)
        labels = self._labels(y_true, y_pred)
        return cross_entropy(self._logits(y_pred), labels.reshape(-1), reduction=fused)

    def call(self, y_true, y_pred) -> Tensor:
        return self._values(as_tensor_like(y_true), _prediction(y_pred))[0]

    def _values(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        labels = self._labels(y_true, y_pred)
        ignore = -100 if self.ignore_class is None else self.ignore_class
        values = cross_entropy(self._logits(y_pred), labels.reshape(-1), reduction="none",
                               ignore_index=ignore)
        if labels.ndim != 1:
            values = values.reshape(-1, *labels.shape[1:])
        mask = None if self.ignore_class is None else labels != self.ignore_class
        return values, mask

    def _logits(self, y_pred: Tensor) -> Tensor:
        """Scores for the fused kernel, one row per label."""
        logits = y_pred if self.from_logits else y_pred.clamp(EPSILON, 1.0 - EPSILON).log()
        return logits.reshape(-1, y_pred.shape[-1]) if y_pred.ndim != 2 else logits

    def _labels(self, y_true, y_pred: Tensor) -> Tensor:
        """``y_true`` as int64 labels of ``y_pred``'s shape without its class axis, checked."""
        where = self._where
        y_true = as_tensor_like(y_true)
        given = tuple(y_true.shape)
        if y_true.ndim == y_pred.ndim and y_true.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        expected = tuple(y_pred.shape[:-1])
        if y_pred.ndim == 0 or not shapes_agree(tuple(y_true.shape), expected):
            raise ShapeError(at_user_site(
                f"{where}: y_pred of shape {tuple(y_pred.shape)} (samples, ..., classes) needs "
                f"integer labels of shape {expected} (or with a trailing 1), got y_true of "
                f"shape {given}"))
        kind = y_true._data.dtype.kind
        if kind not in "iuf":
            raise DTypeError(at_user_site(
                f"{where}: y_true must hold integer class labels, got dtype {y_true.dtype}"))
        data = y_true._data
        if type(data) is np.ndarray and data.size:
            self._check_range(data, y_pred)
        return y_true if kind in "iu" and data.dtype == np.int64 else y_true.long()

    def _check_range(self, labels: np.ndarray, y_pred: Tensor) -> None:
        where, classes = self._where, y_pred.shape[-1]
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
            bad = labels[labels != np.round(labels)].flat[0]
            raise ValueError(at_user_site(
                f"{where}: y_true holds {bad}, which is not a class label; labels must be "
                f"whole numbers (integer or float dtype)"))
        bad = (labels < 0) | (labels >= classes)
        if self.ignore_class is not None:
            bad &= labels != self.ignore_class
        if bad.any():
            allowed = "" if self.ignore_class is None else f" or ignore_class={self.ignore_class}"
            raise IndexError(at_user_site(
                f"{where}: y_true holds label {labels[bad].flat[0]:g}, out of range for "
                f"{classes} classes (y_pred shape {tuple(y_pred.shape)}); labels must be in "
                f"[0, {classes - 1}]{allowed}"))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


# -- looking losses up by name -----------------------------------------------------------------

_CLASSES: dict[str, type[Loss]] = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy)}
_NAMES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError, "mae": MeanAbsoluteError, "bce": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    **_CLASSES,
}
_BY_LOWER_NAME = {name.lower(): cls for name, cls in _NAMES.items()}


def _lookup(name: str, custom_objects: dict | None = None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    cls = _BY_LOWER_NAME.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown loss {name!r}; valid names are: {', '.join(_NAMES)} (or "
                         f"pass a Loss, or a function of (y_true, y_pred))")
    return cls


def get(identifier) -> Loss | None:
    """A loss from a name (``"mse"``, ``"sparse_categorical_crossentropy"``, a class name),
    a config dict, a :class:`Loss` class or instance, or a function of ``(y_true, y_pred)``
    giving per-sample losses (wrapped in :class:`LossFunctionWrapper`). Always a
    :class:`Loss` (or ``None`` for ``None``), so every result reduces the same way.

    >>> from flowgrad.keras import losses
    >>> losses.get("categorical_crossentropy")
    CategoricalCrossentropy(name='categorical_crossentropy', reduction='sum_over_batch_size', \
from_logits=False, label_smoothing=0.0, axis=-1)
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"Could not interpret a loss from {identifier!r}; pass a name such as "
                    f"'mse', a Loss, a config dict or a function of (y_true, y_pred)")


def serialize(loss: Loss) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, which :func:`deserialize` turns back into the
    loss (a :class:`LossFunctionWrapper`'s function is saved by name)."""
    loss = get(loss)
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any] | str, custom_objects: dict | None = None) -> Loss:
    """The loss that :func:`serialize` described (or named); ``custom_objects`` maps the
    names of user classes and functions to them."""
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        return found if isinstance(found, Loss) else get(found)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a name or a dict with 'class_name' and "
                         f"'config', got {config!r}")
    arguments = dict(config.get("config") or {})
    if config["class_name"] == "LossFunctionWrapper":
        name = arguments.pop("fn")
        if not custom_objects or name not in custom_objects:
            raise ValueError(f"deserialize: the loss function {name!r} is not a flowgrad "
                             f"loss; pass it in custom_objects={{{name!r}: function}}")
        return LossFunctionWrapper(custom_objects[name], **arguments)
    return _lookup(config["class_name"], custom_objects).from_config(arguments)
