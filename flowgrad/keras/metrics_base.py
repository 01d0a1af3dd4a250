"""The base of Keras metrics: :class:`Metric`, the reducing metrics (``Mean``, ``Sum``,
``MeanMetricWrapper``) and the NumPy helpers every metric shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from flowgrad.autograd import no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.tensor import Tensor


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
