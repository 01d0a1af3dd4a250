"""Keras metrics (``keras.metrics``): stateful summaries of predictions, in NumPy.

A metric accumulates over batches with ``update_state(y_true, y_pred, sample_weight=None)``
and reports ``result()`` (a Python float) until ``reset_state()``. Metrics run eagerly on
arrays after each step, outside any compiled graph, so they are plain NumPy; flowgrad tensors
and arrays are both accepted. Weighting and reductions follow Keras 3, and so do the numbers.

>>> from flowgrad.keras import metrics
>>> accuracy = metrics.SparseCategoricalAccuracy()
>>> accuracy.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]])
>>> accuracy.update_state([0], [[0.9, 0.1]], sample_weight=[2.0])
>>> accuracy.result()
0.75
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowgrad.keras import losses
from flowgrad.keras.confusion_metrics import AUC, Precision, Recall
from flowgrad.keras.metrics_base import (
    Mean,
    MeanMetricWrapper,
    Metric,
    Sum,
    _array,
    _same_rank,
    _snake_case,
)

__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean",
           "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "Metric", "Precision",
           "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "Sum", "TopKCategoricalAccuracy", "get"]



def _in_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Whether each label is among the ``k`` highest scores of its row (ties count, as in
    ``tf.math.in_top_k``); a label out of range or with a non-finite score is not."""
    rows = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    valid = (labels >= 0) & (labels < rows.shape[-1])
    target = rows[np.arange(len(rows)), np.where(valid, labels, 0)]
    higher = (rows > target[:, None]).sum(-1)
    return (valid & np.isfinite(target) & (higher < k)).astype(np.float64)


def accuracy(y_true, y_pred) -> np.ndarray:
    """1 where the prediction equals the label, else 0."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """1 where ``y_pred > threshold`` agrees with the 0/1 label."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1 where the highest score is the one-hot label's class."""
    return (np.argmax(_array(y_true), -1) == np.argmax(_array(y_pred), -1)).astype(np.float64)


def _sparse_labels(y_true, y_pred: np.ndarray) -> np.ndarray:
    labels = _array(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return labels


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1 where the highest score is the integer label's class."""
    y_pred = _array(y_pred)
    return (_sparse_labels(y_true, y_pred) == np.argmax(y_pred, -1)).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1 where the one-hot label's class is among the ``k`` highest scores."""
    labels = np.argmax(_array(y_true), -1)
    return _in_top_k(labels, _array(y_pred), k).reshape(labels.shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1 where the integer label's class is among the ``k`` highest scores."""
    y_pred = _array(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    return _in_top_k(labels, y_pred, k).reshape(labels.shape)


def mean_squared_error(y_true, y_pred) -> np.ndarray:
    """The mean squared error of each sample (over the last axis)."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.square(y_true - y_pred).mean(-1)


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    """The mean absolute error of each sample (over the last axis)."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.abs(y_true - y_pred).mean(-1)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal the labels."""

    def __init__(self, name: str | None = "accuracy") -> None:
        super().__init__(accuracy, name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 labels."""

    def __init__(self, name: str | None = "binary_accuracy", threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the one-hot label's class."""

    def __init__(self, name: str | None = "categorical_accuracy") -> None:
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the integer label's class."""

    def __init__(self, name: str | None = "sparse_categorical_accuracy") -> None:
        super().__init__(sparse_categorical_accuracy, name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str | None = "top_k_categorical_accuracy") -> None:
        super().__init__(top_k_categorical_accuracy, name, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label's class is among the ``k`` highest scores."""

    def __init__(self, k: int = 5,
                 name: str | None = "sparse_top_k_categorical_accuracy") -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name, k=k)


class MeanSquaredError(MeanMetricWrapper):
    """The weighted mean of per-sample mean squared errors."""

    def __init__(self, name: str | None = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, name)


class MeanAbsoluteError(MeanMetricWrapper):
    """The weighted mean of per-sample mean absolute errors."""

    def __init__(self, name: str | None = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, name)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the weighted mean of squared errors.

    >>> from flowgrad.keras import metrics
    >>> metrics.RootMeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    0.5
    """

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


# -- looking metrics up by name ----------------------------------------------------------------


def _shape(values) -> tuple:
    return tuple(values.shape) if hasattr(values, "shape") else np.shape(values)


def _accuracy_by_shapes(name: str, target_shape: tuple, output_shape: tuple) -> Metric:
    """Keras's choice for ``"accuracy"``: binary for one output column, sparse when labels
    have a lower rank (or one column against several), categorical otherwise."""
    if output_shape[-1] == 1:
        return BinaryAccuracy(name)
    if len(target_shape) < len(output_shape) or target_shape[-1] == 1:
        return SparseCategoricalAccuracy(name)
    return CategoricalAccuracy(name)


class _AccuracyByShape(Metric):
    """``"accuracy"`` whose kind the first batch's shapes decide (see :func:`get`)."""

    def __init__(self, name: str = "accuracy") -> None:
        self.metric: Metric | None = None
        super().__init__(name)

    def reset_state(self) -> None:
        if self.metric is not None:
            self.metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.metric is None:
            self.metric = _accuracy_by_shapes(self.name, _shape(y_true), _shape(y_pred))
        self.metric.update_state(y_true, y_pred, sample_weight)

    def result(self) -> float:
        return 0.0 if self.metric is None else self.metric.result()


def _accuracy(name: str, loss, output_shape, target_shape) -> Metric:
    try:
        loss = losses.get(loss)
    except (TypeError, ValueError):
        loss = None
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy(name)
    if isinstance(loss, losses.CategoricalCrossentropy):
        return CategoricalAccuracy(name)
    if isinstance(loss, losses.BinaryCrossentropy):  # logits are positive above 0
        return BinaryAccuracy(name, threshold=0.0 if loss.from_logits else 0.5)
    if output_shape is not None and (target_shape is not None or output_shape[-1] == 1):
        return _accuracy_by_shapes(name, tuple(target_shape or ()), tuple(output_shape))
    return _AccuracyByShape(name)


def _loss_metric(loss_class: type) -> Callable[[], Metric]:
    loss = loss_class(reduction="none")
    return lambda: MeanMetricWrapper(loss.call, loss.name)


_CLASSES = {cls.__name__: cls for cls in (
    AUC, BinaryAccuracy, CategoricalAccuracy, Mean, MeanAbsoluteError, MeanSquaredError,
    Precision, Recall, RootMeanSquaredError, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, Sum, TopKCategoricalAccuracy)}
_NAMES: dict[str, Callable[[], Metric]] = {
    "accuracy": _AccuracyByShape, "acc": _AccuracyByShape, "mse": MeanSquaredError,
    "mae": MeanAbsoluteError, "auc": AUC,
    **{_snake_case(name): cls for name, cls in _CLASSES.items() if name != "AUC"},
    **{name: _loss_metric(cls) for name, cls in (
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy))},
    **_CLASSES,
}
_BY_LOWER_NAME = {name.lower(): factory for name, factory in _NAMES.items()}


def get(identifier, loss=None, output_shape: tuple | None = None,
        target_shape: tuple | None = None) -> Metric | None:
    """A metric from a name (``"accuracy"``, ``"mae"``, ``"auc"``, a class name...), a
    ``{"class_name", "config"}`` dict, a :class:`Metric` class or instance, or a function of
    ``(y_true, y_pred)`` giving per-sample values. A name becomes the metric's name.

    ``"accuracy"`` (or ``"acc"``) picks its kind by ``loss`` (sparse, categorical or binary
    cross-entropy), else by the shapes of the model's output and of the labels as Keras does
    (an output of one column: binary; labels of lower rank or one column: sparse; otherwise
    categorical), else by the shapes of the first batch it sees.

    >>> from flowgrad.keras import metrics
    >>> metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    <SparseCategoricalAccuracy name='accuracy'>
    >>> metrics.get("acc", output_shape=(None, 3), target_shape=(None, 3))
    <CategoricalAccuracy name='acc'>
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown metric class {identifier['class_name']!r}; valid "
                             f"classes are: {', '.join(_CLASSES)}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _accuracy(identifier, loss, output_shape, target_shape)
        factory = _BY_LOWER_NAME.get(identifier.lower())
        if factory is None:
            raise ValueError(f"Unknown metric {identifier!r}; valid names are: "
                             f"{', '.join(_NAMES)} (or pass a Metric, or a function of "
                             f"(y_true, y_pred))")
        metric = factory()
        metric.name = identifier
        return metric
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"Could not interpret a metric from {identifier!r}; pass a name such as "
                    f"'accuracy', a Metric or a function of (y_true, y_pred)")
