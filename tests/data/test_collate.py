"""default_collate and default_convert follow PyTorch's rules (types, dtypes, structure)."""

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import default_collate, default_convert
from flowgrad.tensor import Tensor

Point = namedtuple("Point", ["x", "y"])

BATCHES = {
    "ints": [1, 2, 3],
    "floats": [0.5, 1.5],
    "bools": [True, False],
    "numpy float32 arrays": [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "numpy int32 arrays": [np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)],
    "numpy uint8 arrays": [np.arange(4, dtype=np.uint8).reshape(2, 2)] * 3,
    "numpy float64 scalars": [np.float64(1.5), np.float64(2.5)],
    "numpy int16 scalars": [np.int16(1), np.int16(2)],
    "numpy bool scalars": [np.bool_(True), np.bool_(False)],
    "strings": ["a", "bc"],
    "tuples": [(1, 0.5), (2, 1.5)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"x": np.ones(2, np.float32), "label": 1, "name": "a"},
              {"x": np.zeros(2, np.float32), "label": 0, "name": "b"}],
    "named tuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [{"pair": (np.float32(1), [1, 2]), "inner": {"v": 1.0}},
               {"pair": (np.float32(2), [3, 4]), "inner": {"v": 2.0}}],
    "ordered dicts": [OrderedDict(a=1, b=2), OrderedDict(a=3, b=4)],
}


def to_torch(value, torch):
    """Our samples with flowgrad tensors replaced by torch tensors (for the tensor cases)."""
    if isinstance(value, Tensor):
        return torch.from_numpy(value.numpy().copy())
    if isinstance(value, dict):
        return type(value)((k, to_torch(v, torch)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value)(to_torch(v, torch) for v in value)
    return value


def assert_same(ours, theirs, torch):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), f"expected a tensor, got {type(ours).__name__}"
        expected = theirs.numpy()
        assert ours.numpy().dtype == expected.dtype
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), expected)
        return
    assert type(ours) is type(theirs), f"{type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key], torch)
    elif isinstance(theirs, list | tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_same(a, b, torch)
    else:
        assert ours == theirs


@pytest.mark.torch
@pytest.mark.parametrize("name", list(BATCHES))
def test_default_collate_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    batch = BATCHES[name]
    assert_same(default_collate(batch), torch_collate(batch), torch)


@pytest.mark.torch
def test_default_collate_of_tensors_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    batch = [(fg.randn(3, 2), fg.tensor(i)) for i in range(4)]
    assert_same(default_collate(batch), torch_collate(to_torch(batch, torch)), torch)


def test_default_collate_stacks_tensors():
    a, b = fg.tensor([1.0, 2.0]), fg.tensor([3.0, 4.0])
    batch = default_collate([a, b])
    assert batch.shape == (2, 2) and batch.dtype == fg.float32
    assert batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_default_collate_keeps_the_autograd_history():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


def test_default_collate_keeps_mapping_and_sequence_types():
    class Record(dict):
        pass

    out = default_collate([Record(a=1), Record(a=2)])
    assert type(out) is Record and out["a"].tolist() == [1, 2]
    assert isinstance(default_collate([OrderedDict(a=1)]), OrderedDict)
    assert default_collate([Point(1, 2)]).__class__ is Point


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="sample 1 has shape \\(3,\\) but sample 0 has shape "
                                           "\\(2,\\)"):
        default_collate([fg.zeros(2), fg.zeros(3)])
    with pytest.raises(RuntimeError, match="sample 1 has 1 elements but sample 0 has 2"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="cannot batch object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="cannot batch arrays of dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


@pytest.mark.torch
def test_default_convert_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as torch_convert

    sample = {"x": np.arange(3, dtype=np.float32), "pair": (np.int64(2), "s"), "n": 4,
              "items": [np.zeros(2, np.uint8), 1.5]}
    assert_same(default_convert(sample), torch_convert(sample), torch)
