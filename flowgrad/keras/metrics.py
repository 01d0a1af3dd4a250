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

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from flowgrad.autograd import no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras import losses
from flowgrad.tensor import Tensor

__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean",
           "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "Metric", "Precision",
           "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "Sum", "TopKCategoricalAccuracy", "get"]


def _array(values, dtype=np.float64) -> np.ndarray:
    """A tensor, array, list or number as a NumPy array (a tensor's values, detached)."""
    if isinstance(values, Tensor):
        values = values.detach().numpy()
    return np.asarray(values, dtype=dtype)


def _same_rank(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True):
    """Keras's rule for arrays whose ranks differ by one: a trailing dimension of size one is
    dropped from the longer one, or added to the other when that one is rank 1."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, x2[:, None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return x1[:, None], x2
        return x1, x2[..., 0]
    return x1, x2


def _divide_no_nan(numerator, denominator) -> np.ndarray:
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, np.float64),
                                                 np.asarray(denominator, np.float64))
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape),
                     where=denominator != 0)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Metric:
    """Base class of metrics: a subclass defines ``update_state``, ``result`` and
    ``reset_state``; calling a metric updates it and returns the result."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or _snake_case(type(self).__name__)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Accumulate the statistics of one batch."""
        raise NotImplementedError(f"{type(self).__name__} does not define update_state()")

    def result(self) -> float | list[float]:
        """The metric over every batch since the last reset."""
        raise NotImplementedError(f"{type(self).__name__} does not define result()")

    def reset_state(self) -> None:
        """Forget every batch seen (at the start of each epoch)."""
        raise NotImplementedError(f"{type(self).__name__} does not define reset_state()")

    def __call__(self, *args, **kwargs) -> float | list[float]:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for :meth:`from_config` and model saving."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """A metric made from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


# -- weighted means and sums -------------------------------------------------------------------


class _Reduce(Metric):
    """Keras's weighted reduction of values to one total: values are averaged (``Mean``) or
    summed (``Sum``) down to the rank of ``sample_weight``, weighed, then accumulated."""

    reduce_fn: Callable = staticmethod(np.mean)

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None) -> None:
        values = _array(values)
        weights = None
        if sample_weight is not None:
            values, weights = _same_rank(values, _array(sample_weight))
            if values.ndim > weights.ndim:
                values = self.reduce_fn(values, axis=tuple(range(weights.ndim, values.ndim)))
            try:
                weights = np.broadcast_to(weights, values.shape)
            except ValueError:
                raise ShapeError(at_user_site(
                    f"{type(self).__name__} {self.name!r}: sample_weight of shape "
                    f"{np.shape(sample_weight)} does not broadcast to values of shape "
                    f"{values.shape}")) from None
            values = values * weights
            if weights.ndim > 1:
                weights = self.reduce_fn(weights, axis=tuple(range(1, weights.ndim)))
        if values.ndim > 1:
            values = self.reduce_fn(values, axis=tuple(range(1, values.ndim)))
        self.total += float(values.sum())
        if weights is not None:
            self.count += float(weights.sum())
        else:
            self.count += values.shape[0] if values.ndim else 1


class Mean(_Reduce):
    """The weighted mean of the values given: ``sum(values * w) / sum(w)``.

    >>> from flowgrad.keras import metrics
    >>> metrics.Mean()([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    2.0
    """

    def result(self) -> float:
        return float(_divide_no_nan(self.total, self.count))


class Sum(_Reduce):
    """The weighted sum of the values given.

    >>> from flowgrad.keras import metrics
    >>> metrics.Sum()([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    4.0
    """

    reduce_fn = staticmethod(np.sum)

    def result(self) -> float:
        return self.total


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred, **kwargs)``, a function of per-sample values
    (NumPy, or flowgrad operations: it runs without recording gradients)."""

    def __init__(self, fn: Callable, name: str | None = None, **kwargs: Any) -> None:
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", None))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            values = _array(self.fn(y_true, y_pred, **self.fn_kwargs))
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        if cls is MeanMetricWrapper:
            raise ValueError("MeanMetricWrapper.from_config: the function cannot be restored "
                             "from a config; make the wrapper again with it")
        return cls(**config)


# -- per-sample functions ----------------------------------------------------------------------


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


# -- confusion-matrix metrics ------------------------------------------------------------------

_NOT_TOP_K = -1e10  # the score Keras gives predictions outside the top k


def _thresholds(where: str, thresholds, default: float) -> np.ndarray:
    values = np.atleast_1d(np.asarray(default if thresholds is None else thresholds,
                                      dtype=np.float32))
    if thresholds is not None and ((values < 0) | (values > 1)).any():
        raise ValueError(f"{where}: thresholds must be in [0, 1], got {thresholds!r}")
    return values


def _confusion_operands(where: str, y_true, y_pred, sample_weight, top_k=None,
                        class_id=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (as bools), float32 scores and weights of one shape, as Keras prepares them."""
    y_pred, y_true = _same_rank(_array(y_pred, np.float32), _array(y_true))
    if y_true.shape != y_pred.shape:
        raise ShapeError(at_user_site(
            f"{where}: y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape} must "
            f"have the same shape"))
    weights = np.ones(())
    if sample_weight is not None:
        _, weights = _same_rank(y_true, _array(sample_weight)[..., None], expand_rank_1=False)
    if top_k is not None:
        order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        keep = np.zeros(y_pred.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=-1)
        y_pred = np.where(keep, y_pred, np.float32(_NOT_TOP_K))
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ShapeError(at_user_site(
                f"{where}: class_id needs y_pred of shape (samples, classes), got shape "
                f"{y_pred.shape}"))
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    try:
        weights = np.broadcast_to(weights, y_pred.shape)
    except ValueError:
        raise ShapeError(at_user_site(
            f"{where}: sample_weight of shape {np.shape(sample_weight)} does not broadcast to "
            f"y_pred of shape {y_pred.shape}")) from None
    return y_true != 0, y_pred, weights


def _evenly_spread(thresholds) -> bool:
    """Whether thresholds run 0, 1/(n-1), ..., 1: Keras counts those by bucket."""
    count = len(thresholds)
    return count >= 3 and np.allclose(thresholds, np.arange(count) / (count - 1), atol=1e-7)


def _counts_above(thresholds: np.ndarray, evenly: bool, labels: np.ndarray, scores: np.ndarray,
                  weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the positive and of the negative labels whose score is above each
    threshold, per column of the ``(samples, columns)`` arrays: ``(thresholds, columns)``.

    Evenly spread thresholds are counted as Keras counts them, by bucket: a score, clipped to
    [0, 1], lands in the bucket of the highest threshold below it (a first threshold below 0
    takes every score), and reversed cumulative sums add the buckets up.
    """
    positives, negatives = labels * weights, ~labels * weights
    if not evenly:
        above = scores[None] > thresholds[:, None, None]
        return (above * positives).sum(1), (above * negatives).sum(1)
    steps, columns = len(thresholds), scores.shape[1]
    bucket = np.ceil(np.clip(scores, 0, 1) * np.float32(steps - 1)) - 1
    if thresholds[0] < 0:
        bucket = np.maximum(bucket, 0)
    kept = bucket >= 0
    index = (bucket + steps * np.arange(columns)).astype(np.int64)[kept]
    sums = []
    for weight in (positives, negatives):
        per_bucket = np.bincount(index, weight[kept], minlength=steps * columns)
        sums.append(np.cumsum(per_bucket.reshape(columns, steps).T[::-1], axis=0)[::-1])
    return sums[0], sums[1]


class _Confusion(Metric):
    """True/false positives and negatives at each threshold, summed over batches."""

    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None) -> None:
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else _NOT_TOP_K
        self.thresholds = _thresholds(type(self).__name__, thresholds, default)
        super().__init__(name)

    def reset_state(self) -> None:
        self.true_positives, self.false_positives, self.false_negatives = (
            np.zeros(len(self.thresholds)) for _ in range(3))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        labels, scores, weights = _confusion_operands(
            type(self).__name__, y_true, y_pred, sample_weight, self.top_k, self.class_id)
        labels, scores, weights = (a.reshape(-1, 1) for a in (labels, scores, weights))
        true_pos, false_pos = _counts_above(self.thresholds, _evenly_spread(self.thresholds),
                                            labels, scores, weights)
        self.true_positives += true_pos[:, 0]
        self.false_positives += false_pos[:, 0]
        self.false_negatives += (labels * weights).sum() - true_pos[:, 0]

    def _per_threshold(self, values: np.ndarray) -> float | list[float]:
        return float(values[0]) if len(values) == 1 else [float(v) for v in values]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_Confusion):
    """``tp / (tp + fp)``: the weighted fraction of positive predictions (score above the
    threshold, default 0.5) that are right; one value per threshold when several are given.

    >>> from flowgrad.keras import metrics
    >>> metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    def result(self) -> float | list[float]:
        return self._per_threshold(_divide_no_nan(
            self.true_positives, self.true_positives + self.false_positives))


class Recall(_Confusion):
    """``tp / (tp + fn)``: the weighted fraction of positive labels predicted positive.

    >>> from flowgrad.keras import metrics
    >>> metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    def result(self) -> float | list[float]:
        return self._per_threshold(_divide_no_nan(
            self.true_positives, self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC curve (``curve="ROC"``) or the precision-recall curve (``"PR"``),
    from weighted counts at ``num_thresholds`` thresholds spread evenly over [0, 1], summed
    as Keras does (``summation_method``: ``"interpolation"``, ``"minoring"``, ``"majoring"``).
    ``multi_label`` averages one AUC per column; ``from_logits`` applies a sigmoid first.

    >>> from flowgrad.keras import metrics
    >>> round(metrics.AUC(num_thresholds=3)([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]), 4)
    0.75
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 thresholds=None, multi_label: bool = False, from_logits: bool = False) -> None:
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}")
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        self.multi_label, self.from_logits = bool(multi_label), bool(from_logits)
        self.init_thresholds = thresholds
        if thresholds is not None:
            inner = sorted(_thresholds("AUC", thresholds, 0.5).tolist())
        elif num_thresholds <= 1:
            raise ValueError(f"AUC: num_thresholds must be an integer > 1, got {num_thresholds}")
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = len(inner) + 2
        self.evenly = _evenly_spread([0.0, *inner, 1.0])
        # the end points sit just outside [0, 1], so that every score passes the first one
        self.thresholds = np.array([-1e-7, *inner, 1.0 + 1e-7], dtype=np.float32)
        super().__init__(name or "auc")

    def reset_state(self) -> None:
        self.counts: np.ndarray | None = None  # tp, fp, tn, fn: (4, thresholds, labels)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _array(y_pred, np.float32)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        labels, scores, weights = _confusion_operands("AUC", y_true, y_pred, sample_weight)
        if self.multi_label and scores.ndim != 2:
            raise ShapeError(at_user_site(
                f"AUC(multi_label=True): y_pred must have shape (samples, labels), got "
                f"{scores.shape}"))
        columns = scores.shape[1] if self.multi_label else 1
        labels, scores, weights = (a.reshape(-1, columns) for a in (labels, scores, weights))
        positives, negatives = labels * weights, ~labels * weights
        true_pos, false_pos = _counts_above(self.thresholds, self.evenly, labels, scores,
                                            weights)
        counts = np.stack([true_pos, false_pos, negatives.sum(0) - false_pos,
                           positives.sum(0) - true_pos])
        self.counts = counts if self.counts is None else self.counts + counts

    def result(self) -> float:
        if self.counts is None:
            return 0.0
        tp, fp, tn, fn = self.counts
        if self.curve == "PR" and self.summation_method == "interpolation":
            return float(self._interpolated_pr_auc(tp, fp, fn).mean())
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(((x[:-1] - x[1:]) * heights).sum(0).mean())

    @staticmethod
    def _interpolated_pr_auc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        """Davis & Goadrich (2006): between thresholds, precision is interpolated with true
        and predicted positives both varying linearly, which integrates in closed form."""
        predicted = tp + fp
        d_tp, d_predicted = tp[:-1] - tp[1:], predicted[:-1] - predicted[1:]
        slope = _divide_no_nan(d_tp, np.maximum(d_predicted, 0))
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = np.where(both, _divide_no_nan(predicted[:-1], np.maximum(predicted[1:], 0)), 1)
        area = _divide_no_nan(slope * (d_tp + intercept * np.log(ratio)),
                              np.maximum(tp[1:] + fn[1:], 0))
        return area.sum(0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve, "summation_method": self.summation_method,
                "thresholds": self.init_thresholds, "multi_label": self.multi_label,
                "from_logits": self.from_logits}


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
