"""DataLoader with worker processes: same batches as in the main process, in order; errors
surface with the worker's traceback; workers stop with the epoch or the iterator."""

import gc
import itertools
import os
import random
import time

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info


class Records(Dataset):
    """Samples collated one by one (not the TensorDataset fast path)."""

    def __init__(self, n=25, fail_at=None):
        self.n = n
        self.fail_at = fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if index == self.fail_at:
            raise ValueError(f"sample {index} is broken")
        return {"x": np.full(3, index, np.float32), "y": index}


class WhoLoads(Dataset):
    """Each sample says which worker loaded it and what that worker's generators drew."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        info = get_worker_info()
        return (-1 if info is None else info.id, float(fg.rand(1)), random.random())


class Shards(IterableDataset):
    """Each worker streams its share: every num_workers-th item."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        time.sleep(0.6)
        return index


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        os._exit(3)


def as_lists(loader):
    return [[value.tolist() if isinstance(value, fg.Tensor) else value for value in
             (batch.values() if isinstance(batch, dict) else batch)] for batch in loader]


@pytest.mark.parametrize("dataset", [Records(25), TensorDataset(fg.randn(25, 3),
                                                                fg.arange(25))])
def test_two_workers_give_the_same_batches_as_none_in_order(dataset):
    serial = as_lists(DataLoader(dataset, batch_size=4))
    parallel = as_lists(DataLoader(dataset, batch_size=4, num_workers=2))
    assert parallel == serial
    assert len(parallel) == 7


def test_same_shuffled_batches_with_and_without_workers():
    dataset = Records(30)
    fg.manual_seed(11)
    serial = DataLoader(dataset, batch_size=4, shuffle=True, drop_last=True)
    serial_epochs = [as_lists(serial), as_lists(serial)]
    fg.manual_seed(11)
    parallel = DataLoader(dataset, batch_size=4, shuffle=True, drop_last=True, num_workers=3,
                          prefetch_factor=1)
    parallel_epochs = [as_lists(parallel), as_lists(parallel)]
    assert parallel_epochs == serial_epochs
    assert serial_epochs[0] != serial_epochs[1]


def test_workers_are_seeded_apart_and_reproducibly():
    def run():
        fg.manual_seed(0)
        return [tuple(v.tolist() for v in batch)
                for batch in DataLoader(WhoLoads(), batch_size=2, num_workers=2)]

    first, second = run(), run()
    assert first == second
    worker_ids = [batch[0] for batch in first]
    assert worker_ids == [[0, 0], [1, 1], [0, 0], [1, 1]]  # round robin, whole batches
    draws_0 = [batch[1][0] for batch in first[0::2]]
    draws_1 = [batch[1][0] for batch in first[1::2]]
    assert draws_0 != draws_1


def test_worker_init_fn_runs_in_each_worker():
    def init(worker_id):
        fg.manual_seed(1000 + worker_id)

    batches = list(DataLoader(WhoLoads(), batch_size=4, num_workers=2, worker_init_fn=init))
    fg.manual_seed(1000)
    expected = float(fg.rand(1))
    assert batches[0][1][0].item() == pytest.approx(expected)


def test_exception_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(Records(20, fail_at=13), batch_size=4, num_workers=2)
    it = iter(loader)
    for _ in range(3):
        next(it)
    with pytest.raises(ValueError) as info:
        next(it)
    message = str(info.value)
    assert "Caught ValueError in DataLoader worker 1" in message
    assert "sample 13 is broken" in message
    assert "in __getitem__" in message  # the worker's own traceback
    with pytest.raises(StopIteration):  # the epoch is over, workers stopped
        next(it)


def test_exception_in_worker_init_fn_surfaces():
    def init(worker_id):
        raise KeyError("no config")

    with pytest.raises(KeyError, match="while starting"):
        list(DataLoader(Records(4), batch_size=2, num_workers=2, worker_init_fn=init))


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = DataLoader(Records(4), batch_size=2, num_workers=1, timeout=20,
                        collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="pickling failed"):
        list(loader)


def test_iterable_dataset_with_workers():
    loader = DataLoader(Shards(10), batch_size=2, num_workers=2)
    batches = [b.tolist() for b in loader]
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    uneven = [b.tolist() for b in DataLoader(Shards(7), batch_size=2, num_workers=3)]
    assert sorted(itertools.chain.from_iterable(uneven)) == list(range(7))


def test_workers_stop_when_the_epoch_ends():
    it = iter(DataLoader(Records(8), batch_size=4, num_workers=2))
    processes = list(it._pool.processes)
    assert all(p.is_alive() for p in processes)
    list(it)
    assert not any(p.is_alive() for p in processes)


def test_workers_stop_when_the_iterator_is_garbage_collected():
    it = iter(DataLoader(Records(40), batch_size=2, num_workers=2))
    next(it)
    processes = list(it._pool.processes)
    del it
    gc.collect()
    assert not any(p.is_alive() for p in processes)


def test_persistent_workers_live_across_epochs():
    loader = DataLoader(Records(10), batch_size=3, num_workers=2, persistent_workers=True)
    first = as_lists(loader)
    pids = [p.pid for p in loader._pool.processes]
    half = iter(loader)
    next(half)  # an unfinished epoch: its late batches must not leak into the next one
    second = as_lists(loader)
    assert first == second
    assert [p.pid for p in loader._pool.processes] == pids
    processes = list(loader._pool.processes)
    del loader, half
    gc.collect()
    assert not any(p.is_alive() for p in processes)


def test_persistent_workers_restart_iterable_datasets():
    loader = DataLoader(Shards(6), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in loader] == [b.tolist() for b in loader]


def test_timeout():
    loader = DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.2)
    with pytest.raises(RuntimeError, match=r"timed out after 0\.2 seconds waiting for batch 0"):
        next(iter(loader))


def test_a_worker_that_dies_is_reported():
    loader = DataLoader(Dies(), batch_size=2, num_workers=1)
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(loader)


def test_spawn_context():
    data = TensorDataset(fg.arange(10).float(), fg.arange(10))
    loader = DataLoader(data, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
