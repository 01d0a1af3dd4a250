"""Flatten and Unflatten: shapes, gradients, reprs equal to PyTorch's, errors."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError


@pytest.mark.parametrize("args,shape,expected", [
    ((), (32, 1, 5, 5), (32, 25)),
    ((0, 2), (2, 3, 4, 5), (24, 5)),
    ((1, -2), (2, 3, 4, 5), (2, 12, 5)),
    ((0, -1), (2, 3), (6,)),
])
def test_flatten_shapes(args, shape, expected):
    x = fg.randn(*shape, requires_grad=True)
    y = fg.nn.Flatten(*args)(x)
    assert y.shape == expected
    np.testing.assert_array_equal(y.detach().numpy().ravel(), x.detach().numpy().ravel())
    y.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize("dim,sizes,shape,expected", [
    (1, (2, 5, 5), (2, 50), (2, 2, 5, 5)),
    (-1, [4, -1], (3, 8), (3, 4, 2)),
    (0, (1, 6), (6, 2), (1, 6, 2)),
])
def test_unflatten_shapes(dim, sizes, shape, expected):
    x = fg.randn(*shape, requires_grad=True)
    y = fg.nn.Unflatten(dim, sizes)(x)
    assert y.shape == expected
    y.sum().backward()
    assert x.grad.shape == shape


def test_unflatten_size_errors():
    layer = fg.nn.Unflatten(1, (3, 5))
    with pytest.raises(ShapeError, match=r"Unflatten\(dim=1, unflattened_size=\(3, 5\)\): cannot "
                                         r"split dimension 1 of an input of shape \(2, 16\)"):
        layer(fg.zeros(2, 16))
    with pytest.raises(ShapeError, match="cannot split dimension 1"):
        layer(fg.zeros(4))
    with pytest.raises(ShapeError):
        fg.nn.Unflatten(0, (-1, 3))(fg.zeros(7))
    with pytest.raises(TypeError, match="tuple of ints"):
        fg.nn.Unflatten(1, 6)


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Flatten(),
    lambda nn: nn.Flatten(0, 2),
    lambda nn: nn.Unflatten(1, (2, 5, 5)),
    lambda nn: nn.Unflatten(-1, [4, -1]),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))
