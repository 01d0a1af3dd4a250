"""What ``fit``/``evaluate``/``predict`` accept, made into batches of NumPy arrays: arrays and
tensors (one or several inputs), ``fg.data`` datasets and loaders, Python generators."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from flowgrad import random as fg_random
from flowgrad.graph.session import _flatten, _unflatten
from flowgrad.tensor import Tensor


def as_array(value):
    """A NumPy array (float64 made float32, as Keras's floatx) of a tensor, array or list."""
    if isinstance(value, Tensor):
        value = value.detach()._data
    array = np.asarray(value)
    return array.astype(np.float32) if array.dtype == np.float64 else array


def as_arrays(structure):
    """Every leaf of a nested structure as an array (None stays None)."""
    if structure is None:
        return None
    shape, leaves = _flatten(structure, [])
    return _unflatten(shape, iter(None if leaf is None else as_array(leaf) for leaf in leaves))


def length(structure) -> int:
    _, leaves = _flatten(structure, [])
    return len(leaves[0])


def take(structure, index):
    """The samples at ``index`` of every array in ``structure``."""
    if structure is None:
        return None
    shape, leaves = _flatten(structure, [])
    return _unflatten(shape, iter(leaf[index] for leaf in leaves))


def check_lengths(method: str, **named) -> int:
    """The common number of samples of the given structures; different counts are an error
    that names them all."""
    counts = {}
    for name, structure in named.items():
        if structure is None:
            continue
        _, leaves = _flatten(structure, [])
        for position, leaf in enumerate(leaves):
            label = name if len(leaves) == 1 else f"{name}[{position}]"
            counts[label] = len(leaf)
    if len(set(counts.values())) > 1:
        described = ", ".join(f"{k} has {v}" for k, v in counts.items())
        raise ValueError(f"{method}: the data must have one number of samples, but {described}")
    return next(iter(counts.values()), 0)


def in_memory(value):
    """``value`` as arrays when it is in memory (an array, a tensor, nested Python numbers,
    or a list/tuple/dict of arrays for several inputs), else None (a dataset, a generator)."""
    if isinstance(value, np.ndarray | Tensor):
        return as_array(value)
    if isinstance(value, list | tuple | dict):
        _, leaves = _flatten(value, [])
        if leaves and all(isinstance(leaf, np.ndarray | Tensor) for leaf in leaves):
            return as_arrays(value)
        if leaves and all(isinstance(leaf, int | float | bool | np.generic) for leaf in leaves):
            return as_array(value)
    return None


class ArrayBatches:
    """Batches of in-memory arrays, shuffled per epoch with flowgrad's generator."""

    def __init__(self, x, y, sample_weight, batch_size: int, shuffle: bool) -> None:
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.count = length(x)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.steps = math.ceil(self.count / batch_size) if self.count else 0

    def epoch(self) -> Iterator[tuple]:
        order = (fg_random.resolve(None).permutation(self.count) if self.shuffle
                 else None)
        for start in range(0, self.count, self.batch_size):
            index = (order[start:start + self.batch_size] if order is not None
                     else slice(start, start + self.batch_size))
            yield (take(self.x, index), take(self.y, index), take(self.sample_weight, index))


class IterableBatches:
    """Batches from a dataset, a loader or a generator: ``(x, y)`` or ``(x, y, weight)``
    (``x`` alone for predict). A generator is read on, epoch after epoch;
    ``steps`` bounds an epoch (needed for endless generators)."""

    def __init__(self, source, steps: int | None, method: str) -> None:
        self.source, self.steps, self.method = source, steps, method
        self._iterator = None if _reiterable(source) else iter(source)

    def epoch(self) -> Iterator[tuple]:
        iterator = iter(self.source) if self._iterator is None else self._iterator
        taken = 0
        while self.steps is None or taken < self.steps:
            try:
                batch = next(iterator)
            except StopIteration:
                if self._iterator is not None and self.steps is not None and taken == 0:
                    raise ValueError(f"{self.method}: the generator ran out of data; give "
                                     f"one that yields at least steps_per_epoch batches per "
                                     f"epoch") from None
                return
            taken += 1
            yield unpack(batch, self.method)


def unpack(batch, method: str) -> tuple:
    if isinstance(batch, list | tuple):
        if len(batch) == 1:
            return as_arrays(batch[0]), None, None
        if len(batch) == 2:
            return as_arrays(batch[0]), as_arrays(batch[1]), None
        if len(batch) == 3:
            return as_arrays(batch[0]), as_arrays(batch[1]), as_arrays(batch[2])
        raise ValueError(f"{method}: a batch must be (x,), (x, y) or (x, y, sample_weight), "
                         f"got a {type(batch).__name__} of {len(batch)} items")
    return as_arrays(batch), None, None


def _reiterable(source) -> bool:
    """A dataset or loader can be iterated afresh each epoch; a generator cannot."""
    return iter(source) is not source


def class_weights(y, weights: dict, method: str) -> np.ndarray:
    """Per-sample weights from a ``{class: weight}`` dict (classes as integer labels, or as
    the argmax of one-hot rows)."""
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - set(weights))
    if missing:
        raise ValueError(f"{method}: class_weight has no weight for class(es) {missing}")
    table = np.array([weights.get(c, 1.0) for c in range(int(labels.max()) + 1)], np.float32)
    return table[labels]
