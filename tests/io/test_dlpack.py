"""NumPy and DLPack: tensors cross to NumPy and PyTorch and back without copies."""

import numpy as np
import pytest

import flowgrad as fg


def test_from_numpy_and_numpy_share_memory():
    array = np.zeros(3, np.float32)
    tensor = fg.from_numpy(array)
    array[0] = 5
    tensor.numpy()[1] = 7
    assert tensor.tolist() == [5.0, 7.0, 0.0] and array.tolist() == [5.0, 7.0, 0.0]
    assert np.shares_memory(tensor.numpy(), array)
    assert not np.shares_memory(tensor.numpy(force=True), array)  # force: a copy


def test_dlpack_round_trips_through_numpy_without_a_copy():
    tensor = fg.arange(6).reshape(2, 3).to(fg.float64)
    exported = np.from_dlpack(tensor)
    exported[0, 0] = 42
    assert tensor[0, 0].item() == 42
    back = fg.from_dlpack(exported)
    assert np.shares_memory(back.numpy(), tensor.numpy())
    assert back.dtype == fg.float64 and back.shape == (2, 3)
    assert tensor.__dlpack_device__() == (1, 0)  # kDLCPU, device 0
    strided = fg.from_dlpack(np.arange(10.0)[::2])  # a strided view keeps its strides
    assert strided.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_dlpack_round_trips_through_pytorch_without_a_copy():
    torch = pytest.importorskip("torch")
    tensor = fg.tensor([1.0, 2.0, 3.0])
    theirs = torch.from_dlpack(tensor)
    theirs[1] = 20
    assert tensor.tolist() == [1.0, 20.0, 3.0]
    ours = fg.from_dlpack(torch.arange(4, dtype=torch.int64))
    assert ours.dtype == fg.int64 and ours.tolist() == [0, 1, 2, 3]
    source = torch.ones(2, 2)
    shared = fg.from_dlpack(source)
    source.add_(1)
    assert shared.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_what_cannot_be_shared_says_why():
    with pytest.raises(RuntimeError, match=r"requires grad; use tensor\.detach"):
        np.from_dlpack(fg.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        fg.from_dlpack([1, 2, 3])
    with fg.Graph().as_default():
        symbolic = fg.placeholder(fg.float32, shape=(2,))
        with pytest.raises(Exception, match="__dlpack__"):
            symbolic.__dlpack__()
