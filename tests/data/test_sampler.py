"""Samplers: order, reproducibility under a seed, new orders each epoch, batching."""

import pytest

import flowgrad as fg
from flowgrad.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sequential_sampler():
    sampler = SequentialSampler(range(4))
    assert list(sampler) == [0, 1, 2, 3]
    assert len(sampler) == 4


def test_random_sampler_is_a_permutation_reproducible_with_a_generator():
    first = list(RandomSampler(range(50), generator=fg.Generator().manual_seed(1)))
    second = list(RandomSampler(range(50), generator=fg.Generator().manual_seed(1)))
    assert sorted(first) == list(range(50))
    assert first == second
    assert first != list(range(50))


def test_random_sampler_follows_manual_seed_and_changes_each_epoch():
    sampler = RandomSampler(range(30))
    fg.manual_seed(7)
    epoch1, epoch2 = list(sampler), list(sampler)
    fg.manual_seed(7)
    assert list(sampler) == epoch1
    assert list(sampler) == epoch2
    assert epoch1 != epoch2


def test_random_sampler_with_a_generator_changes_each_epoch():
    sampler = RandomSampler(range(30), generator=fg.Generator().manual_seed(0))
    assert list(sampler) != list(sampler)


def test_random_sampler_replacement_and_num_samples():
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=100,
                               generator=fg.Generator()))
    assert len(drawn) == 100 and set(drawn) <= {0, 1, 2}
    longer = list(RandomSampler(range(4), num_samples=10, generator=fg.Generator()))
    assert len(longer) == 10
    assert sorted(longer[:4]) == [0, 1, 2, 3] and sorted(longer[4:8]) == [0, 1, 2, 3]
    assert len(RandomSampler(range(4), num_samples=10)) == 10
    assert list(RandomSampler([])) == []


@pytest.mark.parametrize("kwargs, match", [
    ({"num_samples": 0}, "num_samples must be a positive integer, got 0"),
    ({"num_samples": -3}, "got -3"),
    ({"replacement": 1}, "replacement must be a bool"),
])
def test_random_sampler_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    sampler = SubsetRandomSampler([10, 20, 30, 40], generator=fg.Generator().manual_seed(2))
    epoch = list(sampler)
    assert sorted(epoch) == [10, 20, 30, 40]
    assert len(sampler) == 4


def test_weighted_random_sampler():
    drawn = list(WeightedRandomSampler([0.0, 3.0, 1.0], 400, generator=fg.Generator()))
    assert set(drawn) == {1, 2}
    assert 250 < drawn.count(1) < 350
    unique = list(WeightedRandomSampler([1, 1, 1], 3, replacement=False,
                                        generator=fg.Generator()))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)
    with pytest.raises(ValueError, match="all be zero"):
        WeightedRandomSampler([0, 0], 2)


@pytest.mark.parametrize("drop_last, expected", [
    (False, [[0, 1, 2], [3, 4, 5], [6]]),
    (True, [[0, 1, 2], [3, 4, 5]]),
])
def test_batch_sampler(drop_last, expected):
    sampler = BatchSampler(SequentialSampler(range(7)), 3, drop_last)
    assert list(sampler) == expected
    assert len(sampler) == len(expected)


def test_batch_sampler_matches_pytorch():
    torch = pytest.importorskip("torch")
    for size, batch, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)]:
        ours = BatchSampler(range(size), batch, drop)
        theirs = torch.utils.data.BatchSampler(range(size), batch, drop)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_batch_sampler_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got "
                                         f"{batch_size!r}"):
        BatchSampler(range(3), batch_size, False)
