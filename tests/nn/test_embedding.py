"""Embedding and F.embedding / F.one_hot: lookups and gradients against PyTorch, the padding
row (zero at init, zero gradient), from_pretrained, max_norm, reprs, index errors."""

import os

import numpy as np
import pytest
from layer_reference import compare_with_torch, raised

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.errors import DTypeError, ShapeError

FILE = os.path.basename(__file__)
INDICES = np.array([[0, 2, 4, 2], [9, 4, 4, 1]])  # repeats: their gradients add up


@pytest.mark.torch
@pytest.mark.parametrize("indices", [INDICES, INDICES[0], np.array(3), np.zeros((2, 0), int)],
                         ids=["2-D", "1-D", "scalar", "empty"])
@pytest.mark.parametrize("padding_idx", [None, 4, -1])
def test_embedding_matches_torch(indices, padding_idx):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Embedding(10, 3, padding_idx=padding_idx),
                       torch.nn.Embedding(10, 3, padding_idx=padding_idx), indices)


@pytest.mark.torch
def test_functional_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    weight = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    w, t_w = fg.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    y = F.embedding(fg.tensor(INDICES), w, padding_idx=2)
    t_y = torch.nn.functional.embedding(torch.tensor(INDICES), t_w, padding_idx=2)
    np.testing.assert_array_equal(y.detach().numpy(), t_y.detach().numpy())
    (y * y).sum().backward()
    (t_y * t_y).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), t_w.grad.numpy(), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    layer = fg.nn.Embedding(10, 3, max_norm=1.0, norm_type=norm_type)
    torch_layer = torch.nn.Embedding(10, 3, max_norm=1.0, norm_type=norm_type)
    compare_with_torch(layer, torch_layer, INDICES)
    np.testing.assert_allclose(layer.weight.detach().numpy(),
                               torch_layer.weight.detach().numpy(), rtol=1e-6)


def test_init_and_padding_row():
    fg.manual_seed(0)
    layer = fg.nn.Embedding(1000, 64, padding_idx=3)
    weight = layer.weight.detach().numpy()
    assert layer.weight.shape == (1000, 64)
    assert not weight[3].any()
    others = np.delete(weight, 3, axis=0)
    assert others.std() == pytest.approx(1.0, rel=0.02)  # N(0, 1)
    assert abs(others.mean()) < 0.02


def test_padding_row_gets_no_gradient():
    layer = fg.nn.Embedding(5, 2, padding_idx=0)
    layer(fg.tensor([[0, 1, 0, 3]])).sum().backward()
    assert layer.weight.grad.tolist() == [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]]


def test_indices_may_be_a_list_or_an_array():
    layer = fg.nn.Embedding(5, 2)
    expected = layer(fg.tensor([1, 3])).detach().numpy()
    np.testing.assert_array_equal(layer([1, 3]).detach().numpy(), expected)
    np.testing.assert_array_equal(layer(np.array([1, 3])).detach().numpy(), expected)


def test_negative_padding_idx_counts_from_the_end():
    layer = fg.nn.Embedding(5, 2, padding_idx=-2)
    assert layer.padding_idx == 3
    with pytest.raises(ValueError, match="padding_idx 5 must be within num_embeddings"):
        fg.nn.Embedding(5, 2, padding_idx=5)


def test_from_pretrained_shares_and_freezes():
    table = fg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frozen = fg.nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    assert np.shares_memory(frozen.weight.numpy(), table.numpy())
    assert frozen(fg.tensor([2, 0])).tolist() == [[5.0, 6.0], [1.0, 2.0]]
    trainable = fg.nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    with pytest.raises(ShapeError, match="must be 2-D"):
        fg.nn.Embedding.from_pretrained(fg.ones(3))


def test_weight_argument_shape_is_checked():
    with pytest.raises(ShapeError, match=r"_weight has shape \(4, 2\), expected \(3, 2\)"):
        fg.nn.Embedding(3, 2, _weight=fg.ones(4, 2))


# -- errors ---------------------------------------------------------------------------------------


def test_index_out_of_range_names_layer_index_and_line():
    layer = fg.nn.Embedding(10, 3)
    error, line = raised(lambda: layer(fg.tensor([[1, 12], [3, 4]])), IndexError)
    message = str(error)
    assert message.startswith("Embedding(10, 3): index 12 is out of range for 10 embeddings "
                              "(valid indices are 0..9; input shape (2, 2))")
    assert message.endswith(f"{FILE}:{line})")


def test_negative_index_is_out_of_range():
    error, _ = raised(lambda: fg.nn.Embedding(10, 3)(fg.tensor([-1])), IndexError)
    assert "index -1 is out of range" in str(error)
    error, _ = raised(lambda: F.embedding(fg.tensor([10]), fg.ones(10, 2)), IndexError)
    assert str(error).startswith("embedding: index 10 is out of range")


def test_float_indices_are_a_dtype_error():
    with pytest.raises(DTypeError, match="indices must be an integer tensor, got float32"):
        fg.nn.Embedding(10, 3)(fg.tensor([1.0]))


# -- one_hot --------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("num_classes", [-1, 12])
def test_one_hot_matches_torch(num_classes):
    torch = pytest.importorskip("torch")
    got = F.one_hot(fg.tensor(INDICES), num_classes)
    expected = torch.nn.functional.one_hot(torch.tensor(INDICES), num_classes)
    assert got.dtype == fg.int64
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_one_hot_errors():
    with pytest.raises(IndexError, match="class index 3 is out of range for num_classes=3"):
        F.one_hot(fg.tensor([0, 3]), 3)
    with pytest.raises(IndexError, match="class index -1"):
        F.one_hot(fg.tensor([-1, 0]), 3)
    with pytest.raises(DTypeError, match="integer tensor"):
        F.one_hot(fg.tensor([0.0]))


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Embedding(10, 3),
    lambda nn: nn.Embedding(10, 3, padding_idx=0),
    lambda nn: nn.Embedding(10, 3, padding_idx=-1, max_norm=2.0, norm_type=1.0),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))
