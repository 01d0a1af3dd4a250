"""Keras's confusion-matrix metrics: ``Precision``, ``Recall`` and ``AUC``, in NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras.metrics_base import Metric, _array, _divide_no_nan, _same_rank

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


