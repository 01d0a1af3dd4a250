"""Samplers: the order in which a :class:`~flowgrad.data.DataLoader` visits a dataset's indices,
and how it groups them into batches.

Random samplers draw from an explicit :class:`~flowgrad.Generator`, or, when given none, from
flowgrad's default generator at the start of every epoch: ``fg.manual_seed`` makes shuffling
reproducible, and each epoch still gets a new order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from flowgrad import random as fg_random
from flowgrad.random import Generator


class Sampler:
    """Base class: an iterable over dataset indices (or, for a batch sampler, lists of them)."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self)")

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} has no length: define __len__(self)")


def _epoch_rng(generator: Generator | None) -> np.random.Generator:
    """The generator of one epoch: ``generator`` itself, or a fresh one seeded by a draw from the
    default generator (so a later ``fg.manual_seed`` is seen, and epochs differ)."""
    if generator is not None:
        return generator.np
    seed = int(fg_random.default_generator.np.integers(0, 2**63 - 1))
    return np.random.Generator(np.random.PCG64(seed))


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    >>> from flowgrad.data import SequentialSampler
    >>> list(SequentialSampler("abc"))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices each epoch, or with ``replacement=True``
    ``num_samples`` independent draws.

    >>> import flowgrad as fg
    >>> from flowgrad.data import RandomSampler
    >>> sampler = RandomSampler(range(5), generator=fg.Generator().manual_seed(0))
    >>> sorted(sampler)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int | np.integer)
                                        or isinstance(num_samples, bool) or num_samples <= 0):
            raise ValueError(
                f"RandomSampler: num_samples must be a positive integer, got {num_samples!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        # read at each epoch: the dataset may grow
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self) -> Iterator[int]:
        rng = _epoch_rng(self.generator)
        n, count = len(self.data_source), self.num_samples
        if n == 0:
            return iter(())
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        # without replacement, num_samples > n repeats whole permutations
        parts = [rng.permutation(n) for _ in range(-(-count // n))]
        return iter(np.concatenate(parts)[:count].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch.

    >>> import flowgrad as fg
    >>> from flowgrad.data import SubsetRandomSampler
    >>> sorted(SubsetRandomSampler([7, 3, 5], generator=fg.Generator().manual_seed(1)))
    [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = _epoch_rng(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``.

    >>> import flowgrad as fg
    >>> from flowgrad.data import WeightedRandomSampler
    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=fg.Generator()))
    [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        if (not isinstance(num_samples, int | np.integer) or isinstance(num_samples, bool)
                or num_samples <= 0):
            raise ValueError(
                f"WeightedRandomSampler: num_samples must be a positive integer, got "
                f"{num_samples!r}"
            )
        weights_array = np.asarray(weights, dtype=np.float64)
        if weights_array.ndim != 1 or not len(weights_array):
            raise ValueError(
                f"WeightedRandomSampler: weights must be a non-empty 1-d sequence, got shape "
                f"{weights_array.shape}"
            )
        if (weights_array < 0).any() or not np.isfinite(weights_array).all():
            raise ValueError("WeightedRandomSampler: weights must be finite and non-negative")
        if weights_array.sum() == 0:
            raise ValueError("WeightedRandomSampler: weights must not all be zero")
        if not replacement and num_samples > np.count_nonzero(weights_array):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {np.count_nonzero(weights_array)} non-zero weights"
            )
        self.weights = weights_array
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        chosen = _epoch_rng(self.generator).choice(
            len(self.weights), size=self.num_samples, replace=self.replacement,
            p=self.weights / self.weights.sum())
        return iter(chosen.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter list is
    dropped when ``drop_last``.

    >>> from flowgrad.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if (not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError(
                f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
