"""DataLoader in the main process: batching, shuffling, samplers, collation, fast path, errors."""

import itertools

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


class Squares(Dataset):
    """Samples of mixed types, collated sample by sample."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return {"x": np.full(2, index, np.float32), "y": index * index, "w": index / 2}


class Stream(IterableDataset):
    def __init__(self, n, length=True):
        self.n = n
        self.length = length

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.length:
            raise TypeError("no length")
        return self.n


def tensor_data(n=10, features=3):
    x = fg.arange(n * features).float().reshape(n, features)
    return TensorDataset(x, fg.arange(n))


def labels(loader):
    return [y.tolist() for _, y in loader]


def test_batches_in_order_with_a_short_last_batch():
    loader = DataLoader(tensor_data(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.shape == (4, 3) and x.dtype == fg.float32 and y.dtype == fg.int64
    assert isinstance(batches[0], list)  # default_collate makes tuples lists, as PyTorch


def test_drop_last():
    loader = DataLoader(tensor_data(), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_default_batch_size_is_one():
    loader = DataLoader(tensor_data(3))
    assert len(loader) == 3
    assert labels(loader) == [[0], [1], [2]]


def test_batch_size_none_yields_samples_without_collation():
    loader = DataLoader(Squares(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3
    assert isinstance(samples[1]["x"], fg.Tensor) and samples[1]["x"].shape == (2,)
    assert samples[2]["y"] == 4 and samples[1]["w"] == 0.5


def test_shuffle_is_reproducible_under_manual_seed_and_differs_across_epochs():
    loader = DataLoader(tensor_data(40), batch_size=8, shuffle=True)
    fg.manual_seed(0)
    epoch1, epoch2 = labels(loader), labels(loader)
    fg.manual_seed(0)
    assert labels(loader) == epoch1
    assert labels(loader) == epoch2
    assert epoch1 != epoch2
    assert sorted(itertools.chain.from_iterable(epoch1)) == list(range(40))


def test_shuffle_with_a_generator_ignores_the_default_generator():
    def epoch(seed):
        fg.manual_seed(seed)
        loader = DataLoader(tensor_data(20), batch_size=5, shuffle=True,
                            generator=fg.Generator().manual_seed(3))
        return labels(loader)

    assert epoch(0) == epoch(1)


def test_shuffle_draws_match_between_loader_and_sampler_streams():
    # The loader draws a base seed for workers each epoch, whether or not it has workers:
    # the same seed gives the same order with num_workers=0 as with workers (tested there).
    fg.manual_seed(5)
    first = labels(DataLoader(tensor_data(20), batch_size=5, shuffle=True))
    fg.manual_seed(5)
    second = labels(DataLoader(tensor_data(20), batch_size=5, shuffle=True))
    assert first == second


def test_matches_pytorch_without_shuffling():
    torch = pytest.importorskip("torch")
    ours = DataLoader(Squares(10), batch_size=3)
    theirs = torch.utils.data.DataLoader(Squares(10), batch_size=3)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert list(a) == list(b)
        for key in b:
            assert a[key].numpy().dtype == b[key].numpy().dtype
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_tensor_dataset_matches_pytorch_without_shuffling():
    torch = pytest.importorskip("torch")
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ours = DataLoader(TensorDataset(fg.from_numpy(x), fg.from_numpy(y)), batch_size=4,
                      drop_last=True)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=4,
        drop_last=True)
    assert len(ours) == len(theirs)
    for (xa, ya), (xb, yb) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        assert xa.numpy().dtype == xb.numpy().dtype and ya.numpy().dtype == yb.numpy().dtype


def test_fast_path_equals_collating_sample_by_sample():
    data = TensorDataset(fg.randn(23, 2, 3), fg.randint(0, 5, (23,)), fg.rand(23) > 0.5)
    fast = DataLoader(data, batch_size=5, shuffle=True, generator=fg.Generator().manual_seed(1))
    slow = DataLoader(data, batch_size=5, shuffle=True, generator=fg.Generator().manual_seed(1),
                      collate_fn=lambda samples: default_collate(samples))
    for a, b in zip(fast, slow, strict=True):
        assert len(a) == len(b) == 3
        for u, v in zip(a, b, strict=True):
            assert u.dtype == v.dtype and u.shape == v.shape
            np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_fast_path_batches_are_copies():
    data = tensor_data(4)
    x, _ = next(iter(DataLoader(data, batch_size=2)))
    x.numpy()[:] = -1
    assert data.tensors[0][0].tolist() == [0.0, 1.0, 2.0]


def test_fast_path_through_subsets_from_random_split():
    data = tensor_data(30)
    train, _ = random_split(data, [20, 10], generator=fg.Generator().manual_seed(0))
    batches = labels(DataLoader(train, batch_size=6))
    expected = [data[i][1].item() for i in train.indices]
    assert list(itertools.chain.from_iterable(batches)) == expected


def test_subclass_overriding_getitem_is_collated_sample_by_sample():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return x, y * 2

    batches = labels(DataLoader(Doubled(fg.zeros(4, 1), fg.arange(4)), batch_size=2))
    assert batches == [[0, 2], [4, 6]]
    subset = Subset(Doubled(fg.zeros(4, 1), fg.arange(4)), [3, 1])
    assert labels(DataLoader(subset, batch_size=2)) == [[6, 2]]


def test_getitems_protocol_loads_a_batch_in_one_call():
    calls = []

    class Batched(Squares):
        def __getitems__(self, indices):
            calls.append(list(indices))
            return [self[i] for i in indices]

    batches = list(DataLoader(Batched(5), batch_size=2))
    assert calls == [[0, 1], [2, 3], [4]]
    assert batches[2]["y"].tolist() == [16]


def test_custom_collate_fn():
    loader = DataLoader(Squares(5), batch_size=2, collate_fn=lambda batch: len(batch))
    assert list(loader) == [2, 2, 1]


def test_sampler_and_batch_sampler():
    loader = DataLoader(tensor_data(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert labels(loader) == [[5, 4], [3, 2], [1, 0]]
    batches = BatchSampler(SequentialSampler(range(6)), 4, drop_last=False)
    loader = DataLoader(tensor_data(6), batch_sampler=batches)
    assert len(loader) == 2
    assert labels(loader) == [[0, 1, 2, 3], [4, 5]]
    assert labels(DataLoader(tensor_data(6), batch_sampler=[[1], [0, 2]])) == [[1], [0, 2]]


def test_plain_sequences_are_datasets():
    assert [b.tolist() for b in DataLoader([1.0, 2.0, 3.0], batch_size=2)] == [[1.0, 2.0], [3.0]]


def test_iterable_dataset_batches_and_length():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    dropping = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dropping] == [[0, 1, 2], [3, 4, 5]]
    assert len(dropping) == 2
    assert [int(v) for v in DataLoader(Stream(3), batch_size=None)] == [0, 1, 2]
    with pytest.raises(TypeError, match="no length"):
        len(DataLoader(Stream(3, length=False)))


def test_iterator_reports_its_length():
    it = iter(DataLoader(tensor_data(10), batch_size=4))
    assert len(it) == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer or None, got 0"),
    ({"batch_size": -2}, ValueError, "batch_size .* got -2"),
    ({"batch_size": 2.0}, ValueError, "batch_size .* got 2.0"),
    ({"num_workers": -1}, ValueError, "num_workers must be a non-negative integer, got -1"),
    ({"prefetch_factor": 0}, ValueError, "prefetch_factor must be a positive integer, got 0"),
    ({"timeout": -1}, ValueError, "timeout must be a non-negative number, got -1"),
    ({"shuffle": True, "sampler": [0, 1]}, ValueError, "shuffle=True cannot be combined with a "
                                                        "sampler"),
    ({"batch_sampler": [[0]], "batch_size": 4}, ValueError, "cannot be combined with "
                                                            "batch_size=4"),
    ({"batch_sampler": [[0]], "shuffle": True, "drop_last": True}, ValueError,
     "shuffle=True, drop_last=True"),
    ({"batch_size": None, "drop_last": True}, ValueError, "drop_last=True needs a batch_size"),
    ({"persistent_workers": True}, ValueError, "persistent_workers=True needs num_workers > 0"),
    ({"drop_last": 1}, ValueError, "drop_last must be a bool, got 1"),
    ({"collate_fn": 3}, TypeError, "collate_fn must be callable, got 3"),
    ({"worker_init_fn": "f"}, TypeError, "worker_init_fn must be callable"),
    ({"generator": 5}, TypeError, "generator must be a flowgrad Generator, got int"),
    ({"multiprocessing_context": "nonsense"}, ValueError, "multiprocessing_context='nonsense'"),
])
def test_bad_arguments_raise_in_the_constructor(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(tensor_data(), **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"shuffle": True}, "shuffle cannot be used with an IterableDataset"),
    ({"sampler": [0]}, "sampler cannot be used with an IterableDataset"),
    ({"batch_sampler": [[0]]}, "batch_sampler cannot be used"),
])
def test_iterable_dataset_rejects_orderings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Stream(3), **kwargs)


def test_dataset_without_getitem_is_rejected():
    with pytest.raises(TypeError, match="needs __getitem__ and __len__"):
        DataLoader(object())
