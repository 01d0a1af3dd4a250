"""Linear, Bilinear, Identity and F.linear / F.bilinear: against PyTorch with copied weights,
against finite differences, initialisation as PyTorch's, reprs, and errors."""

import math
import os

import numpy as np
import pytest
from layer_reference import check_gradients, compare_with_torch, raised

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.errors import ShapeError

FILE = os.path.basename(__file__)
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# -- against PyTorch ----------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (2, 1, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    torch = pytest.importorskip("torch")
    layer = fg.nn.Linear(4, 3, bias=bias)
    compare_with_torch(layer, torch.nn.Linear(4, 3, bias=bias), randn(*shape))


@pytest.mark.torch
def test_linear_float64_matches_torch():
    torch = pytest.importorskip("torch")
    layer = fg.nn.Linear(6, 2, dtype=fg.float64)
    assert layer.weight.dtype == fg.float64 and layer.bias.dtype == fg.float64
    compare_with_torch(layer, torch.nn.Linear(6, 2, dtype=torch.float64),
                       randn(3, 6, dtype=np.float64), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_functional_linear_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = randn(2, 5, 3), randn(4, 3), randn(4)
    got = F.linear(fg.tensor(x), fg.tensor(w), fg.tensor(b))
    expected = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("batch", [(5,), (2, 3), ()])
def test_bilinear_matches_torch(batch):
    torch = pytest.importorskip("torch")
    layer = fg.nn.Bilinear(3, 4, 2)
    compare_with_torch(layer, torch.nn.Bilinear(3, 4, 2), randn(*batch, 3), randn(*batch, 4))


@pytest.mark.torch
def test_bilinear_without_bias_matches_torch():
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Bilinear(2, 3, 4, bias=False),
                       torch.nn.Bilinear(2, 3, 4, bias=False), randn(5, 2), randn(5, 3))


# -- against finite differences -----------------------------------------------------------------


def test_linear_gradients_match_finite_differences():
    layer = fg.nn.Linear(3, 2, dtype=fg.float64)
    check_gradients(layer, rng.standard_normal((2, 4, 3)), params=[layer.weight, layer.bias])


def test_bilinear_gradients_match_finite_differences():
    layer = fg.nn.Bilinear(3, 2, 4, dtype=fg.float64)
    check_gradients(layer, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)),
                    params=[layer.weight, layer.bias])


def test_linear_backward_is_two_matrix_products():
    """Leading dimensions are folded into one: no batched weight gradient to reduce."""
    from flowgrad.ops import linalg

    calls = []
    original = linalg.matmul.forward
    linalg.matmul.forward = lambda a, b: calls.append((a.ndim, b.ndim)) or original(a, b)
    try:
        layer = fg.nn.Linear(3, 2)
        layer(fg.randn(4, 5, 3, requires_grad=True)).sum().backward()
    finally:
        linalg.matmul.forward = original
    assert calls == [(2, 2)] * 3  # forward, input gradient, weight gradient


# -- parameters and initialisation ---------------------------------------------------------------


def test_linear_parameter_shapes_and_names():
    layer = fg.nn.Linear(20, 30)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [("weight", (30, 20)),
                                                                  ("bias", (30,))]
    assert all(p.requires_grad for p in layer.parameters())
    no_bias = fg.nn.Linear(20, 30, bias=False)
    assert no_bias.bias is None
    assert [n for n, _ in no_bias.named_parameters()] == ["weight"]


def test_linear_init_is_pytorch_uniform():
    """kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); the bias is the same."""
    fg.manual_seed(0)
    layer = fg.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound
    weights = layer.weight.detach().numpy()
    assert abs(weights.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(weights.mean()) < 0.01 * bound
    assert np.abs(layer.bias.detach().numpy()).max() > 0.9 * bound


def test_linear_init_follows_the_seed():
    fg.manual_seed(3)
    first = fg.nn.Linear(5, 4).weight.detach().numpy().copy()
    fg.manual_seed(3)
    second = fg.nn.Linear(5, 4).weight.detach().numpy()
    assert first.tobytes() == second.tobytes()


def test_bilinear_init_bounds():
    layer = fg.nn.Bilinear(25, 10, 7)
    assert layer.weight.shape == (7, 25, 10) and layer.bias.shape == (7,)
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / 5
    assert np.abs(layer.bias.detach().numpy()).max() <= 1 / 5


def test_reset_parameters_redraws():
    layer = fg.nn.Linear(4, 4)
    before = layer.weight.detach().numpy().copy()
    layer.reset_parameters()
    assert not np.array_equal(before, layer.weight.detach().numpy())


# -- repr -----------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Linear(20, 30),
    lambda nn: nn.Linear(1, 2, bias=False),
    lambda nn: nn.Bilinear(2, 3, 4),
    lambda nn: nn.Bilinear(2, 3, 4, bias=False),
    lambda nn: nn.Identity(),
    lambda nn: nn.Identity(3, unused=True),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))


# -- Identity -------------------------------------------------------------------------------------


def test_identity_returns_its_input():
    x = fg.randn(2, 3, requires_grad=True)
    assert fg.nn.Identity(54, unused_argument=1)(x) is x
    assert list(fg.nn.Identity().parameters()) == []


# -- errors ---------------------------------------------------------------------------------------


def test_wrong_feature_count_names_layer_shapes_and_line():
    layer = fg.nn.Linear(2048, 10)
    error, line = raised(lambda: layer(fg.zeros(64, 8192)), ShapeError)
    message = str(error)
    assert message.startswith("Linear(in_features=2048, out_features=10): input has 8192 "
                              "features (shape (64, 8192)) (at ")
    assert message.endswith(f"{FILE}:{line})")


def test_scalar_input_to_linear_is_a_shape_error():
    error, line = raised(lambda: fg.nn.Linear(3, 2)(fg.tensor(1.0)), ShapeError)
    assert "no feature dimension (shape ())" in str(error)
    assert f"{FILE}:{line}" in str(error)


def test_functional_linear_shape_error():
    error, line = raised(lambda: F.linear(fg.zeros(4, 3), fg.zeros(2, 5)), ShapeError)
    assert "linear: input has 3 features (shape (4, 3))" in str(error)
    assert "(2, 5)" in str(error) and f"{FILE}:{line}" in str(error)


def test_bilinear_shape_errors_name_the_layer():
    layer = fg.nn.Bilinear(3, 4, 2)
    error, line = raised(lambda: layer(fg.zeros(5, 3), fg.zeros(5, 5)), ShapeError)
    assert str(error).startswith("Bilinear(in1_features=3, in2_features=4, out_features=2)")
    assert "(5, 3) and (5, 5)" in str(error) and f"{FILE}:{line}" in str(error)
    error, _ = raised(lambda: layer(fg.zeros(5, 3), fg.zeros(6, 4)), ShapeError)
    assert "(5, 3) and (6, 4)" in str(error)
    error, _ = raised(lambda: F.bilinear(fg.zeros(5, 3), fg.zeros(5, 4), fg.zeros(2, 3)),
                      ShapeError)
    assert str(error).startswith("bilinear:")
