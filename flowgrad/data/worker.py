"""Worker processes of a :class:`~flowgrad.data.DataLoader` with ``num_workers > 0``.

Each worker holds a copy of the dataset and a :class:`~flowgrad.data.fetch.Fetcher`; it takes
tasks ``(epoch, task_id, indices)`` from its own index queue, loads the whole batch and puts
``(epoch, task_id, batch)`` on the shared result queue. The main process hands out tasks round
robin and puts results back in order. An exception in a worker travels back as
:class:`WorkerError`, with the worker's traceback as text, and is raised again in the main
process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import random
import sys
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from flowgrad import random as fg_random
from flowgrad.data.fetch import Fetcher

# How often a waiting worker or main process looks whether the other side is still alive.
STATUS_CHECK_INTERVAL = 0.5


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (see :func:`get_worker_info`)."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its :class:`WorkerInfo` (``id``, ``num_workers``, ``seed`` and
    its copy of the ``dataset``); None in the main process. An
    :class:`~flowgrad.data.IterableDataset` uses it to give each worker a share of the stream.

    >>> from flowgrad.data import get_worker_info
    >>> get_worker_info() is None
    True
    """
    return _worker_info


class WorkerError:
    """An exception raised in a worker, carried back to the main process as its type and its
    traceback text (tracebacks themselves do not cross processes)."""

    def __init__(self, worker_id: int, where: str, exc: BaseException) -> None:
        self.exc_type = type(exc)
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # a class defined inside a function cannot be sent by name
            self.exc_type = RuntimeError
        self.message = (
            f"Caught {type(exc).__name__} in DataLoader worker {worker_id} {where}.\n"
            f"Original traceback:\n{''.join(traceback.format_exception(exc))}"
        )

    def reraise(self):
        """Raise the worker's exception again: the same type when it can be built from one
        message, else a RuntimeError."""
        message = self.message
        if self.exc_type is KeyError:
            message = _KeyErrorMessage(message)  # KeyError would print the repr of the text
        try:
            error = self.exc_type(message)
        except Exception:
            raise RuntimeError(self.message) from None
        raise error


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


class IterableEnd:
    """A worker's reply when its copy of an iterable dataset has no more batches."""


def _worker_loop(dataset, fetcher_args: tuple, index_queue, result_queue, done_event,
                 worker_id: int, num_workers: int, seed: int,
                 worker_init_fn: Callable | None, parent_pid: int) -> None:
    global _worker_info
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    fg_random.manual_seed(seed)
    random.seed(seed)
    init_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = Fetcher(dataset, *fetcher_args)
    except Exception as exc:  # reported with every task, so the main process raises it
        init_error = WorkerError(worker_id, "while starting (worker_init_fn or dataset)", exc)
    try:
        while not done_event.is_set():
            try:
                message = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died
                    break
                continue
            if message is None:
                break
            if message == "reset":
                if init_error is None:
                    fetcher.reset()
                continue
            epoch, task_id, task = message
            result = init_error or _fetch(fetcher, task, worker_id)
            try:
                payload = pickle.dumps((epoch, task_id, result), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # a batch that cannot be sent: report it, not a hang
                error = WorkerError(worker_id, "while sending the batch (pickling failed)", exc)
                payload = pickle.dumps((epoch, task_id, error))
            result_queue.put(payload)
    except KeyboardInterrupt:
        pass
    if done_event.is_set() or os.getppid() != parent_pid:
        result_queue.cancel_join_thread()  # nobody will read what is left; exit at once
    result_queue.close()


def _fetch(fetcher: Fetcher, task, worker_id: int):
    try:
        return fetcher.fetch(task)
    except StopIteration:
        return IterableEnd()
    except Exception as exc:
        return WorkerError(worker_id, "while loading a batch", exc)


class WorkerPool:
    """``num_workers`` started worker processes with their queues; :meth:`shutdown` (also called
    when the pool is garbage-collected or at interpreter exit) stops them."""

    def __init__(self, dataset, fetcher_args: tuple, num_workers: int, seed: int,
                 worker_init_fn: Callable | None, context) -> None:
        self.num_workers = num_workers
        self.result_queue = context.Queue()
        self.done_event = context.Event()
        self.index_queues = []
        self.processes = []
        for worker_id in range(num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # never wait at exit for tasks nobody will take
            process = context.Process(
                target=_worker_loop,
                args=(dataset, fetcher_args, index_queue, self.result_queue, self.done_event,
                      worker_id, num_workers, seed + worker_id, worker_init_fn, os.getpid()),
                daemon=True,
                name=f"flowgrad-dataloader-worker-{worker_id}",
            )
            process.start()
            self.index_queues.append(index_queue)
            self.processes.append(process)
        self._finalizer = weakref.finalize(self, _shutdown, self.processes, self.index_queues,
                                           self.result_queue, self.done_event)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def send(self, worker_id: int, message) -> None:
        self.index_queues[worker_id].put(message)

    def receive(self, timeout: float):
        """The next ``(epoch, task_id, result)`` from any worker; ``queue.Empty`` after
        ``timeout`` seconds; RuntimeError when a worker has died."""
        try:
            payload = self.result_queue.get(timeout=timeout)
        except queue.Empty:
            for worker_id, process in enumerate(self.processes):
                if not process.is_alive():
                    raise RuntimeError(
                        f"DataLoader worker {worker_id} (pid {process.pid}) exited unexpectedly "
                        f"with exit code {process.exitcode}"
                    ) from None
            raise
        return pickle.loads(payload)

    def shutdown(self) -> None:
        self._finalizer()


def _shutdown(processes, index_queues, result_queue, done_event) -> None:
    done_event.set()
    for index_queue, process in zip(index_queues, processes, strict=True):
        if process.is_alive():
            with contextlib.suppress(ValueError, OSError):  # the queue is already closed
                index_queue.put(None)
    for process in processes:
        process.join(timeout=2.0)
        if process.is_alive():
            process.terminate()
            process.join(timeout=1.0)
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


def default_context():
    """'fork' where the platform has it and it is safe (Linux), else 'spawn'."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
