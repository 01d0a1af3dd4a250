"""Activation layers and functions: forward and gradients against PyTorch (float32 and
float64) and finite differences, reprs equal to PyTorch's, in-place variants, stability at
large inputs, errors."""

import math

import numpy as np
import pytest
from layer_reference import check_gradients, compare_with_torch

import flowgrad as fg
import flowgrad.nn.functional as F

rng = np.random.default_rng(0)

# (id, make(nn) -> layer): each built the same way from fg.nn and from torch.nn.
LAYERS = [
    ("ReLU", lambda nn: nn.ReLU()),
    ("LeakyReLU", lambda nn: nn.LeakyReLU()),
    ("LeakyReLU-0.2", lambda nn: nn.LeakyReLU(0.2)),
    ("ELU", lambda nn: nn.ELU()),
    ("ELU-alpha", lambda nn: nn.ELU(alpha=0.5)),
    ("SELU", lambda nn: nn.SELU()),
    ("CELU", lambda nn: nn.CELU(alpha=1.5)),
    ("GELU", lambda nn: nn.GELU()),
    ("GELU-tanh", lambda nn: nn.GELU(approximate="tanh")),
    ("SiLU", lambda nn: nn.SiLU()),
    ("Sigmoid", lambda nn: nn.Sigmoid()),
    ("Tanh", lambda nn: nn.Tanh()),
    ("Softplus", lambda nn: nn.Softplus()),
    ("Softplus-beta", lambda nn: nn.Softplus(beta=2.0, threshold=3.0)),
    ("Softmax", lambda nn: nn.Softmax(dim=-1)),
    ("Softmax-dim1", lambda nn: nn.Softmax(dim=1)),
    ("LogSoftmax", lambda nn: nn.LogSoftmax(dim=-1)),
    ("Softmin", lambda nn: nn.Softmin(dim=0)),
    ("LogSigmoid", lambda nn: nn.LogSigmoid()),
    ("Hardtanh", lambda nn: nn.Hardtanh()),
    ("Hardtanh-range", lambda nn: nn.Hardtanh(-2.0, 0.5)),
    ("ReLU6", lambda nn: nn.ReLU6()),
    ("Mish", lambda nn: nn.Mish()),
    ("Softsign", lambda nn: nn.Softsign()),
    ("Hardsigmoid", lambda nn: nn.Hardsigmoid()),
    ("Hardswish", lambda nn: nn.Hardswish()),
    ("GLU", lambda nn: nn.GLU()),
    ("GLU-dim1", lambda nn: nn.GLU(dim=1)),
    ("PReLU", lambda nn: nn.PReLU()),
    ("PReLU-channels", lambda nn: nn.PReLU(num_parameters=4, init=0.1)),
]
IDS = [name for name, _ in LAYERS]


def inputs(dtype, shape=(3, 4, 6)):
    """Values spread over every piece of the activations (|x| up to ~9), none at a kink."""
    x = rng.standard_normal(shape) * 3
    x[np.abs(x) < 1e-3] = 0.5
    return x.astype(dtype)


@pytest.mark.torch
@pytest.mark.parametrize("make", [m for _, m in LAYERS], ids=IDS)
def test_float32_matches_torch(make):
    torch = pytest.importorskip("torch")
    compare_with_torch(make(fg.nn), make(torch.nn), inputs(np.float32), rtol=1e-5, atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("make", [m for _, m in LAYERS], ids=IDS)
def test_float64_matches_torch(make):
    torch = pytest.importorskip("torch")
    layer, torch_layer = make(fg.nn).double(), make(torch.nn).double()
    # PyTorch's float64 hardsigmoid gradient multiplies by a float32 constant 1/6.
    rtol = 1e-7 if type(layer).__name__ == "Hardsigmoid" else 1e-9
    compare_with_torch(layer, torch_layer, inputs(np.float64), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("fn", [
    F.relu, F.leaky_relu, F.elu, F.selu, F.gelu, lambda x: F.gelu(x, approximate="tanh"),
    F.silu, F.sigmoid, F.tanh, F.softplus, lambda x: F.softplus(x, 0.5, 1.0),
    lambda x: F.softmax(x, -1), lambda x: F.log_softmax(x, 0), F.logsigmoid, F.hardtanh,
    F.relu6, F.mish, F.softsign, F.hardsigmoid, F.hardswish, F.glu, F.celu,
], ids=lambda fn: getattr(fn, "__name__", "fn"))
def test_gradients_match_finite_differences(fn):
    x = rng.standard_normal((3, 4)) * 2.5
    x[np.abs(np.abs(x) - 3) < 0.05] += 0.2  # away from the kinks of hardsigmoid/hardswish
    check_gradients(fn, x)


# -- repr -----------------------------------------------------------------------------------------

REPRS = LAYERS + [
    ("ReLU-inplace", lambda nn: nn.ReLU(inplace=True)),
    ("LeakyReLU-inplace", lambda nn: nn.LeakyReLU(0.1, inplace=True)),
    ("ELU-inplace", lambda nn: nn.ELU(inplace=True)),
    ("Hardtanh-inplace", lambda nn: nn.Hardtanh(inplace=True)),
    ("ReLU6-inplace", lambda nn: nn.ReLU6(inplace=True)),
    ("SiLU-inplace", lambda nn: nn.SiLU(inplace=True)),
    ("Mish-inplace", lambda nn: nn.Mish(inplace=True)),
    ("SELU-inplace", lambda nn: nn.SELU(inplace=True)),
    ("CELU-inplace", lambda nn: nn.CELU(inplace=True)),
    ("Hardswish-inplace", lambda nn: nn.Hardswish(inplace=True)),
    ("Hardsigmoid-inplace", lambda nn: nn.Hardsigmoid(inplace=True)),
    ("Softmax-none", lambda nn: nn.Softmax()),
    ("LogSoftmax-none", lambda nn: nn.LogSoftmax()),
]


@pytest.mark.torch
@pytest.mark.parametrize("make", [m for _, m in REPRS], ids=[n for n, _ in REPRS])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))


def test_repr_examples():
    assert repr(fg.nn.LeakyReLU(0.2, inplace=True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(fg.nn.GELU()) == "GELU(approximate='none')"
    assert repr(fg.nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(fg.nn.Sigmoid()) == "Sigmoid()"


# -- in place -------------------------------------------------------------------------------------

IN_PLACE = {
    "relu": lambda x, inplace: F.relu(x, inplace=inplace),
    "leaky_relu": lambda x, inplace: F.leaky_relu(x, 0.1, inplace=inplace),
    "elu": lambda x, inplace: F.elu(x, inplace=inplace),
    "selu": lambda x, inplace: F.selu(x, inplace=inplace),
    "celu": lambda x, inplace: F.celu(x, inplace=inplace),
    "silu": lambda x, inplace: F.silu(x, inplace=inplace),
    "hardtanh": lambda x, inplace: F.hardtanh(x, inplace=inplace),
    "relu6": lambda x, inplace: F.relu6(x, inplace=inplace),
    "mish": lambda x, inplace: F.mish(x, inplace=inplace),
    "hardsigmoid": lambda x, inplace: F.hardsigmoid(x, inplace=inplace),
    "hardswish": lambda x, inplace: F.hardswish(x, inplace=inplace),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_writes_the_input_and_keeps_gradients(name):
    fn = IN_PLACE[name]
    data = inputs(np.float64, (2, 5))
    leaf = fg.tensor(data, requires_grad=True)
    expected = fn(leaf, False)
    expected.sum().backward()
    expected_grad = leaf.grad.numpy().copy()

    leaf.grad = None
    hidden = leaf * 1.0  # a non-leaf: in-place is allowed on it
    result = fn(hidden, True)
    assert result is hidden
    np.testing.assert_allclose(hidden.detach().numpy(), expected.detach().numpy())
    result.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), expected_grad)


def test_in_place_on_a_plain_tensor():
    x = fg.tensor([-1.0, 2.0])
    assert F.relu_(x) is x
    assert x.tolist() == [0.0, 2.0]
    y = fg.tensor([-1.0, 2.0])
    fg.nn.LeakyReLU(0.5, inplace=True)(y)
    assert y.tolist() == [-0.5, 2.0]


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    x = fg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        F.relu(x, inplace=True)


# -- numerics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [F.elu, F.softplus, F.mish, F.selu, F.celu, F.logsigmoid, F.silu,
                                lambda x: F.softplus(x, beta=3.0)])
def test_large_inputs_give_finite_values_and_gradients(fn):
    x = fg.tensor([-1000.0, -90.0, 0.0, 90.0, 1000.0], requires_grad=True)
    y = fn(x)
    y.sum().backward()
    assert np.isfinite(y.detach().numpy()).all()
    assert np.isfinite(x.grad.numpy()).all()


def test_gelu_exact_and_tanh_agree_closely():
    x = fg.linspace(-5, 5, 101)
    exact = F.gelu(x).numpy()
    approx = F.gelu(x, approximate="tanh").numpy()
    assert np.abs(exact - approx).max() < 1e-3
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.numpy()])
    np.testing.assert_allclose(exact, x.numpy() * phi, rtol=1e-6, atol=1e-7)


def test_softmax_sums_to_one_and_log_softmax_is_its_log():
    x = fg.tensor(inputs(np.float64, (4, 7)))
    np.testing.assert_allclose(F.softmax(x, dim=1).sum(1).numpy(), np.ones(4))
    np.testing.assert_allclose(F.log_softmax(x, dim=1).exp().numpy(), F.softmax(x, 1).numpy())
    assert F.softmax(fg.tensor([[1, 2]]), dim=1, dtype=fg.float64).dtype == fg.float64


def test_softmax_without_dim_warns_and_picks_pytorchs_dimension():
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = F.softmax(fg.zeros(2, 3))
    np.testing.assert_allclose(y.numpy(), np.full((2, 3), 1 / 3), rtol=1e-6)
    with pytest.warns(UserWarning):
        y = fg.nn.Softmax()(fg.zeros(4))
    np.testing.assert_allclose(y.numpy(), np.full(4, 0.25))


# -- errors ---------------------------------------------------------------------------------------


def test_bad_arguments():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        fg.nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(fg.zeros(2), approximate="erf")
    with pytest.raises(ValueError, match="min_val"):
        fg.nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        F.celu(fg.zeros(2), alpha=0.0)
    with pytest.raises(fg.errors.ShapeError, match=r"even size.*\(2, 3\)"):
        F.glu(fg.zeros(2, 3))
