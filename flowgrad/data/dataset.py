"""Datasets: indexable collections of samples (map-style) and streams of samples (iterable).

A map-style dataset defines ``__getitem__`` and ``__len__``; an iterable one defines
``__iter__``. A dataset that can load a whole batch faster than sample by sample offers a
``_batch_loader()`` (see :func:`batch_loader`); the :class:`~flowgrad.data.DataLoader` uses it
in place of indexing and collating each sample.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from flowgrad import random as fg_random
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.random import Generator
from flowgrad.tensor import Tensor


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample ``i`` and ``len(dataset)`` their number.

    Subclasses define ``__getitem__`` and ``__len__``. A dataset may also define
    ``__getitems__(indices)`` returning the list of those samples, to load a batch in one call
    (PyTorch's protocol). ``a + b`` concatenates two datasets.

    >>> from flowgrad.data import Dataset
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, index):
    ...         return index * index
    >>> data = Squares() + Squares()
    >>> len(data), data[5]
    (8, 1)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __len__(self) -> int:
        # TypeError, as len() of any object without a length
        raise TypeError(f"{type(self).__name__} has no length: define __len__(self)")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy of the dataset; use
    :func:`~flowgrad.data.get_worker_info` inside ``__iter__`` to give each worker its share.

    >>> from flowgrad.data import IterableDataset
    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self)")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it cannot be indexed")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples from tensors that share their first dimension: sample ``i`` is
    ``(t[i] for t in tensors)``.

    A :class:`~flowgrad.data.DataLoader` over it indexes each tensor once per batch.

    >>> import flowgrad as fg
    >>> from flowgrad.data import TensorDataset
    >>> data = TensorDataset(fg.arange(6).reshape(3, 2), fg.tensor([0, 1, 0]))
    >>> len(data), data[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        converted = []
        for position, item in enumerate(tensors):
            if isinstance(item, np.ndarray):
                item = Tensor._wrap(item)
            if not isinstance(item, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {position} is a {type(item).__name__}; expected "
                    f"tensors (or NumPy arrays)"
                )
            if item.ndim == 0:
                raise ShapeError(at_user_site(
                    f"TensorDataset: argument {position} is a 0-d tensor; every tensor needs a "
                    f"first (sample) dimension"
                ))
            converted.append(item)
        sizes = [t.shape[0] for t in converted]
        if len(set(sizes)) > 1:
            raise ShapeError(at_user_site(
                f"TensorDataset: the tensors' first dimensions differ ({sizes}, from shapes "
                f"{[t.shape for t in converted]}); every tensor needs one entry per sample"
            ))
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        if type(index) is int or isinstance(index, np.integer):  # the common case, no dispatch
            # np.asarray: indexing a 1-d array gives a NumPy scalar, a tensor needs an array
            return tuple(t[index] if t.requires_grad else Tensor._wrap(np.asarray(t._data[index]))
                         for t in self.tensors)
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch_loader(self):
        if type(self).__getitem__ is not TensorDataset.__getitem__:
            return None  # a subclass changes what a sample is: collate its samples
        return self._load_batch

    def _load_batch(self, indices: np.ndarray) -> list[Tensor]:
        """The collated batch of ``indices``: one fancy index per tensor (the list of batched
        tensors that default_collate would build from the samples)."""
        return [t[indices] if t.requires_grad else Tensor._wrap(t._data[indices])
                for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> from flowgrad.data import Subset
    >>> part = Subset(list("abcde"), [4, 0])
    >>> len(part), part[0]
    (2, 'e')
    """

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list:
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch_loader(self):
        inner = batch_loader(self.dataset)
        if inner is None or type(self).__getitem__ is not Subset.__getitem__:
            return None
        positions = np.asarray(self.indices, dtype=np.intp)
        return lambda indices: inner(positions[indices])


class ConcatDataset(Dataset):
    """Map-style datasets one after another.

    >>> from flowgrad.data import ConcatDataset
    >>> both = ConcatDataset([[1, 2], [3, 4, 5]])
    >>> len(both), both[2], both[-1]
    (5, 3, 5)
    """

    def __init__(self, datasets: Iterable) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        for position, dataset in enumerate(self.datasets):
            if isinstance(dataset, IterableDataset):
                raise TypeError(
                    f"ConcatDataset: dataset {position} is an IterableDataset; join streams "
                    f"with ChainDataset instead"
                )
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise IndexError(
                    f"ConcatDataset: index {index} out of range for {len(self)} samples"
                )
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another.

    >>> from flowgrad.data import ChainDataset
    >>> list(ChainDataset([range(2), range(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for dataset in self.datasets:
            yield from dataset

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are integers summing to ``len(dataset)``, or fractions summing to 1 (each
    subset gets ``floor(fraction * len(dataset))`` samples and the remainder is dealt out one
    by one from the first subset, as in PyTorch). The permutation is drawn from ``generator``,
    or from the default generator, so ``fg.manual_seed`` makes the split reproducible.

    >>> import flowgrad as fg
    >>> from flowgrad.data import random_split
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=fg.Generator().manual_seed(0))
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (8, 2, True)
    """
    total = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give lengths or fractions")
    if any(isinstance(n, float) for n in lengths):
        lengths = _lengths_from_fractions(lengths, total)
    else:
        for position, n in enumerate(lengths):
            if not isinstance(n, int | np.integer) or n < 0:
                raise ValueError(
                    f"random_split: length {n!r} at position {position} is not a non-negative "
                    f"integer"
                )
        if sum(lengths) != total:
            raise ValueError(
                f"random_split: lengths {lengths} sum to {sum(lengths)} but the dataset has "
                f"{total} samples; give lengths summing to {total}, or fractions summing to 1"
            )
    order = fg_random.resolve(generator).permutation(total).tolist()
    subsets, offset = [], 0
    for n in lengths:
        subsets.append(Subset(dataset, order[offset:offset + int(n)]))
        offset += int(n)
    return subsets


def _lengths_from_fractions(fractions: list, total: int) -> list[int]:
    for position, fraction in enumerate(fractions):
        if not 0 <= fraction <= 1:
            raise ValueError(
                f"random_split: fraction {fraction} at position {position} is not between 0 "
                f"and 1"
            )
    if not math.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"random_split: fractions {fractions} sum to {sum(fractions):g}; they must sum to "
            f"1 (or give integer lengths summing to {total})"
        )
    lengths = [math.floor(total * f) for f in fractions]
    for i in range(total - sum(lengths)):
        lengths[i % len(lengths)] += 1
    return lengths


def batch_loader(dataset):
    """A function from an integer index array to the collated batch, when ``dataset`` can load
    batches whole (:class:`TensorDataset`, a :class:`Subset` of one, MNIST); else None."""
    make = getattr(dataset, "_batch_loader", None)
    return make() if make is not None else None
