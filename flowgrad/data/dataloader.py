"""The :class:`DataLoader`: batches from a dataset, in order or shuffled, loaded in the main
process or in worker processes."""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from flowgrad import random as fg_random
from flowgrad.data.collate import default_collate, default_convert
from flowgrad.data.dataset import IterableDataset
from flowgrad.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from flowgrad.data.worker import (
    STATUS_CHECK_INTERVAL,
    IterableEnd,
    WorkerError,
    WorkerPool,
    default_context,
)
from flowgrad.random import Generator


class DataLoader:
    """Iterate over ``dataset`` in batches, with PyTorch's arguments and behaviour.

    - ``batch_size`` samples per batch (None: single samples, not collated); ``drop_last``
      drops a last, shorter batch.
    - ``shuffle=True`` visits the samples in a new random order each epoch, drawn from
      ``generator`` or from the default generator (``fg.manual_seed`` makes it reproducible);
      ``sampler`` or ``batch_sampler`` choose the order (or the batches) yourself.
    - ``collate_fn`` builds a batch from a list of samples (default: :func:`default_collate`).
      Over a :class:`~flowgrad.data.TensorDataset` (or a Subset of one) with the default
      collation, each batch is one fancy index per tensor rather than a stack of samples.
    - ``num_workers > 0`` loads batches in that many processes ('fork' on Linux, else 'spawn',
      or ``multiprocessing_context``); each worker loads whole batches, ``prefetch_factor``
      batches per worker are loaded ahead, and they come back in order. Each worker's
      default generator and ``random`` are seeded with ``base_seed + worker_id``, and
      ``worker_init_fn(worker_id)`` runs first. Workers stop when the epoch ends or the
      iterator is garbage-collected (or, with ``persistent_workers``, live as long as the
      loader). An exception in a worker is raised again here, with the worker's traceback.
    - ``timeout`` (seconds, 0 = wait forever) bounds the wait for one batch from the workers.
    - ``pin_memory`` is accepted for PyTorch compatibility and has no effect (CPU only).

    >>> import flowgrad as fg
    >>> from flowgrad.data import DataLoader, TensorDataset
    >>> data = TensorDataset(fg.arange(10).float().reshape(5, 2), fg.arange(5))
    >>> [y for x, y in DataLoader(data, batch_size=2)]
    [tensor([0, 1]), tensor([2, 3]), tensor([4])]
    >>> loader = DataLoader(data, batch_size=2, shuffle=True, drop_last=True)
    >>> len(loader), [x.shape for x, y in loader]
    (2, [(2, 2), (2, 2)])
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = False,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = 2,
                 persistent_workers: bool = False) -> None:
        shuffle = bool(shuffle) if shuffle is not None else False
        _check_arguments(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
                         collate_fn, drop_last, timeout, worker_init_fn, prefetch_factor,
                         persistent_workers, generator)
        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self.pin_memory = pin_memory
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context)
        self.generator = generator
        self.persistent_workers = persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)

        if batch_sampler is not None:
            batch_size, drop_last = None, False  # the batch sampler decides
        if self._iterable:
            sampler = _InfiniteNone()
        elif sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                             batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._pool: WorkerPool | None = None  # the persistent workers
        self._epoch = 0

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        return _MultiProcessIterator(self)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)  # TypeError when the stream has no length
            if self.batch_size is None:
                return length
            if self.drop_last:
                return length // self.batch_size
            return -(-length // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # -- used by the iterators ------------------------------------------------------------

    def _fetcher_args(self) -> tuple:
        return (self._iterable, self._auto_collation, self.batch_size, self.drop_last,
                self.collate_fn)

    def _tasks(self) -> Iterator:
        """One epoch of tasks: lists of indices, single indices, or None (iterable)."""
        if self._iterable:
            return itertools.repeat(None)
        if self.batch_sampler is not None:
            return iter(self.batch_sampler)
        return iter(self.sampler)

    def _draw_base_seed(self) -> int:
        # Drawn every epoch, workers or not, so the shuffle order does not depend on them.
        rng = fg_random.resolve(self.generator)
        return int(rng.integers(0, 2**62))

    def _worker_pool(self, base_seed: int) -> WorkerPool:
        def start() -> WorkerPool:
            return WorkerPool(self.dataset, self._fetcher_args(), self.num_workers, base_seed,
                              self.worker_init_fn, self.multiprocessing_context)

        if not self.persistent_workers:
            return start()
        if self._pool is None or not self._pool.alive:
            self._pool = start()
        elif self._iterable:
            for worker_id in range(self.num_workers):
                self._pool.send(worker_id, "reset")
        return self._pool


class _InfiniteNone(Sampler):
    """The 'sampler' of an iterable dataset: the dataset itself says when the epoch ends."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class _SingleProcessIterator:
    def __init__(self, loader: DataLoader) -> None:
        from flowgrad.data.fetch import Fetcher

        loader._draw_base_seed()
        self._fetcher = Fetcher(loader.dataset, *loader._fetcher_args())
        self._tasks = loader._tasks()
        self._length = loader.__len__

    def __iter__(self) -> _SingleProcessIterator:
        return self

    def __next__(self):
        task = next(self._tasks)
        return self._fetcher.fetch(task)  # an iterable dataset ends with StopIteration

    def __len__(self) -> int:
        return self._length()


class _MultiProcessIterator:
    """Hands tasks round robin to the workers, keeping ``prefetch_factor`` per worker in flight,
    and yields the results in task order."""

    def __init__(self, loader: DataLoader) -> None:
        base_seed = loader._draw_base_seed()
        loader._epoch += 1
        self._epoch = loader._epoch
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        self._length = loader.__len__
        self._tasks = loader._tasks()
        self._pool = loader._worker_pool(base_seed)
        self._active = list(range(loader.num_workers))  # workers with data left
        self._next_worker = itertools.cycle(range(loader.num_workers))
        self._owner: dict[int, int] = {}  # task id -> worker
        self._results: dict[int, object] = {}  # arrived early, waiting for their turn
        self._sent = 0
        self._yielded = 0
        self._finished = False
        for _ in range(loader.prefetch_factor * loader.num_workers):
            self._send_task()

    def __iter__(self) -> _MultiProcessIterator:
        return self

    def __len__(self) -> int:
        return self._length()

    def _send_task(self) -> None:
        if not self._active:
            return
        task = next(self._tasks, _END)
        if task is _END:
            self._active = []
            return
        worker_id = next(self._next_worker)
        while worker_id not in self._active:
            worker_id = next(self._next_worker)
        self._pool.send(worker_id, (self._epoch, self._sent, task))
        self._owner[self._sent] = worker_id
        self._sent += 1

    def __next__(self):
        while True:
            if self._finished or self._yielded == self._sent:
                self._finish()
                raise StopIteration
            result = self._wait_for(self._yielded)
            worker_id = self._owner.pop(self._yielded)
            self._yielded += 1
            if isinstance(result, WorkerError):
                self._finish()
                result.reraise()
            if isinstance(result, IterableEnd):
                if worker_id in self._active:
                    self._active.remove(worker_id)
                self._send_task()  # to a worker that still has data
                continue
            self._send_task()
            return result

    def _wait_for(self, task_id: int):
        started = time.monotonic()
        while task_id not in self._results:
            if self._timeout > 0:
                left = self._timeout - (time.monotonic() - started)
                if left <= 0:
                    self._finish()
                    raise RuntimeError(
                        f"DataLoader timed out after {self._timeout:g} seconds waiting for "
                        f"batch {task_id} from worker {self._owner.get(task_id)}"
                    )
                wait = min(left, STATUS_CHECK_INTERVAL)
            else:
                wait = STATUS_CHECK_INTERVAL
            try:
                epoch, arrived, result = self._pool.receive(wait)
            except queue.Empty:
                continue
            except RuntimeError:
                self._finish()
                raise
            if epoch == self._epoch:  # a persistent worker may still send a past epoch's batch
                self._results[arrived] = result
        return self._results.pop(task_id)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if not self._persistent:
            self._pool.shutdown()


_END = object()


def _context(context):
    if context is None:
        return default_context()
    if isinstance(context, str):
        if context not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"DataLoader: multiprocessing_context={context!r} is not available here; "
                f"choose one of {multiprocessing.get_all_start_methods()}"
            )
        return multiprocessing.get_context(context)
    return context


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_arguments(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
                     collate_fn, drop_last, timeout, worker_init_fn, prefetch_factor,
                     persistent_workers, generator) -> None:
    """All the constructor's checks, before any state is set."""
    if batch_size is not None and (not _is_int(batch_size) or batch_size <= 0):
        raise ValueError(
            f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}"
        )
    if not _is_int(num_workers) or num_workers < 0:
        raise ValueError(
            f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}"
        )
    if prefetch_factor is not None and (not _is_int(prefetch_factor) or prefetch_factor <= 0):
        raise ValueError(
            f"DataLoader: prefetch_factor must be a positive integer, got {prefetch_factor!r}"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise ValueError(f"DataLoader: timeout must be a non-negative number, got {timeout!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
    if not isinstance(drop_last, bool):
        raise ValueError(f"DataLoader: drop_last must be a bool, got {drop_last!r}")
    for name, function in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
        if function is not None and not callable(function):
            raise TypeError(f"DataLoader: {name} must be callable, got {function!r}")
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"DataLoader: generator must be a flowgrad Generator, got {type(generator).__name__}"
        )
    if isinstance(dataset, IterableDataset):
        for name, value, given in (("shuffle", shuffle, shuffle),
                                   ("sampler", sampler, sampler is not None),
                                   ("batch_sampler", batch_sampler, batch_sampler is not None)):
            if given:
                raise ValueError(
                    f"DataLoader: {name} cannot be used with an IterableDataset, which sets its "
                    f"own order (got {name}={value!r})"
                )
        return
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(
            f"DataLoader: the dataset ({type(dataset).__name__}) needs __getitem__ and __len__, "
            f"or must be an IterableDataset"
        )
    if sampler is not None and shuffle:
        raise ValueError(
            "DataLoader: shuffle=True cannot be combined with a sampler (the sampler sets the "
            "order); shuffle inside the sampler, e.g. RandomSampler"
        )
    if batch_sampler is not None:
        clashes = [f"{name}={value!r}" for name, value, given in (
            ("batch_size", batch_size, batch_size != 1), ("shuffle", shuffle, shuffle),
            ("sampler", sampler, sampler is not None), ("drop_last", drop_last, drop_last))
            if given]
        if clashes:
            raise ValueError(
                f"DataLoader: batch_sampler sets the batches, so it cannot be combined with "
                f"{', '.join(clashes)}"
            )
    elif batch_size is None and drop_last:
        raise ValueError("DataLoader: drop_last=True needs a batch_size (got batch_size=None)")
