"""Datasets: TensorDataset, Subset, ConcatDataset, ChainDataset and random_split."""

import warnings

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from flowgrad.errors import ShapeError


class Range(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return index


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


def test_tensor_dataset_samples_and_length():
    x, y = fg.arange(12).reshape(6, 2), fg.arange(6) * 10
    data = TensorDataset(x, y)
    assert len(data) == 6
    sample = data[4]
    assert isinstance(sample, tuple)
    assert sample[0].tolist() == [8, 9] and sample[1].item() == 40
    assert isinstance(sample[1].numpy(), np.ndarray) and sample[1].shape == ()
    assert data[np.int64(1)][1].item() == 10
    assert [t.tolist() for t in data[1:3]] == [[[2, 3], [4, 5]], [10, 20]]
    assert data.tensors[0] is x


def test_tensor_dataset_accepts_numpy_arrays_sharing_memory():
    array = np.zeros((3, 2), dtype=np.float32)
    data = TensorDataset(array)
    array[1, 0] = 7
    assert data[1][0].tolist() == [7.0, 0.0]


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(ShapeError, match=r"first dimensions differ \(\[5, 4\]"):
        TensorDataset(fg.zeros(5, 3), fg.zeros(4))


def test_tensor_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(fg.zeros(2), [1, 2])
    with pytest.raises(ShapeError, match="0-d"):
        TensorDataset(fg.tensor(1.0))


def test_base_dataset_says_what_to_define():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(TypeError, match="__len__"):
        len(Dataset())
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(IterableDataset())
    with pytest.raises(TypeError, match="cannot be indexed"):
        Stream([1])[0]


def test_subset():
    part = Subset(Range(10), [7, 2, 5])
    assert len(part) == 3
    assert [part[i] for i in range(3)] == [7, 2, 5]
    assert part.__getitems__([2, 0]) == [5, 7]
    assert Subset(list("abcdef"), [1, 3])[1] == "d"


def test_concat_dataset_and_plus():
    both = Range(3) + Range(2)
    assert isinstance(both, ConcatDataset)
    assert len(both) == 5
    assert [both[i] for i in range(5)] == [0, 1, 2, 0, 1]
    assert both[-1] == 1 and both[-5] == 0
    assert both.cumulative_sizes == [3, 5]
    with pytest.raises(IndexError, match="out of range"):
        both[5]
    with pytest.raises(IndexError, match="out of range"):
        both[-6]
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Range(2), Stream([1])])
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])


def test_concat_dataset_skips_empty_parts():
    both = ConcatDataset([Range(0), Range(2), Range(0), Range(1)])
    assert [both[i] for i in range(len(both))] == [0, 1, 0]


def test_chain_dataset():
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [1, 2, 3]
    assert list(chained) == [1, 2, 3]  # iterable twice
    assert len(ChainDataset([[1, 2], [3]])) == 3


def test_random_split_integer_lengths_cover_the_dataset():
    parts = random_split(Range(10), [3, 7], generator=fg.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [3, 7]
    seen = [p[i] for p in parts for i in range(len(p))]
    assert sorted(seen) == list(range(10))


@pytest.mark.parametrize("n, fractions", [
    (10, [0.5, 0.5]), (11, [0.3, 0.3, 0.4]), (7, [0.2, 0.8]), (5, [1.0]), (3, [0.25] * 4),
])
def test_random_split_fraction_lengths_match_pytorch(n, fractions):
    torch = pytest.importorskip("torch")
    ours = [len(p) for p in random_split(Range(n), fractions)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about an empty split
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs


def test_random_split_is_reproducible_under_manual_seed():
    fg.manual_seed(3)
    first = [list(p) for p in random_split(range(20), [0.5, 0.5])]
    fg.manual_seed(3)
    second = [list(p) for p in random_split(range(20), [0.5, 0.5])]
    third = [list(p) for p in random_split(range(20), [0.5, 0.5])]
    assert first == second
    assert first != third


def test_random_split_errors_are_clear():
    with pytest.raises(ValueError, match=r"sum to 8 but the dataset has 10 samples"):
        random_split(Range(10), [3, 5])
    with pytest.raises(ValueError, match=r"sum to 0.9; they must sum to 1"):
        random_split(Range(10), [0.5, 0.4])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(Range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="not a non-negative integer"):
        random_split(Range(10), [12, -2])
    with pytest.raises(ValueError, match="empty"):
        random_split(Range(10), [])
