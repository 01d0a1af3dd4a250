"""Turning one task of a :class:`~flowgrad.data.DataLoader` into one batch, in the main process or
in a worker: indices of a map-style dataset, or the next items of an iterable one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowgrad.data.collate import default_collate
from flowgrad.data.dataset import batch_loader


class Fetcher:
    """Loads batches from ``dataset``.

    With ``auto_collation`` a task is a list of indices (or, for an iterable dataset, the next
    ``batch_size`` items) collated by ``collate_fn``; without it a task is one sample, passed
    through ``collate_fn`` alone. A map-style dataset that can load a batch whole (a
    :class:`~flowgrad.data.TensorDataset`, ...) does so when ``collate_fn`` is
    :func:`default_collate`: one fancy index per tensor instead of a stack of samples.
    """

    def __init__(self, dataset, iterable: bool, auto_collation: bool, batch_size: int | None,
                 drop_last: bool, collate_fn: Callable) -> None:
        self.dataset = dataset
        self.iterable = iterable
        self.auto_collation = auto_collation
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self._whole_batch = None
        if not iterable and auto_collation and collate_fn is default_collate:
            self._whole_batch = batch_loader(dataset)
        self._items = None  # the iterator of an iterable dataset

    def reset(self) -> None:
        """Start the iterable dataset over (a new epoch)."""
        self._items = None

    def fetch(self, task):
        """The batch of ``task`` (a list of indices, or one index when not batching); for an
        iterable dataset ``task`` is ignored and StopIteration marks the end of the stream."""
        if self.iterable:
            return self._fetch_next()
        if not self.auto_collation:
            return self.collate_fn(self.dataset[task])
        if self._whole_batch is not None:
            return self._whole_batch(np.asarray(task, dtype=np.intp))
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(task) if getitems is not None else [self.dataset[i] for i in task]
        return self.collate_fn(samples)

    def _fetch_next(self):
        if self._items is None:
            self._items = iter(self.dataset)
        if not self.auto_collation:
            return self.collate_fn(next(self._items))
        samples = []
        for item in self._items:
            samples.append(item)
            if len(samples) == self.batch_size:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self.collate_fn(samples)
