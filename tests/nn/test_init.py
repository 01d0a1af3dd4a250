"""fg.nn.init: gains and fans as PyTorch computes them, distributions checked statistically,
reproducibility under fg.manual_seed and generator=, in-place semantics, errors."""

import math
import warnings

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError
from flowgrad.nn import init

SHAPES = [(2, 3), (4, 3, 5), (8, 4, 3, 3), (2, 3, 1, 2, 2), (1, 7)]


@pytest.fixture(autouse=True)
def seeded():
    """Statistical checks on a fixed stream: they pass or fail the same way every run."""
    fg.manual_seed(0)


NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]


# -- gains and fans -------------------------------------------------------------------------------


def test_gains():
    assert init.calculate_gain("linear") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75


@pytest.mark.torch
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_gains_match_torch(nonlinearity):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity))
    assert init.calculate_gain(nonlinearity, 3) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, 3))


def test_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(fg.empty(shape)) == expected


def test_fans_by_formula():
    assert init._calculate_fan_in_and_fan_out(fg.empty(8, 4, 3, 3)) == (36, 72)
    assert init._calculate_fan_in_and_fan_out(fg.empty(30, 20)) == (20, 30)


def test_fans_need_two_dimensions():
    with pytest.raises(ShapeError, match=r"fewer than 2 dimensions \(shape \(5,\)\)"):
        init.xavier_uniform_(fg.empty(5))
    with pytest.raises(ValueError, match="mode 'fan_avg'"):
        init.kaiming_uniform_(fg.empty(3, 3), mode="fan_avg")


# -- distributions --------------------------------------------------------------------------------

N_OUT, N_IN = 300, 400  # 120,000 samples: a sample std is within ~0.5% of the true one


def stats(t):
    values = t.detach().numpy().astype(np.float64)
    return values.mean(), values.std(), np.abs(values).max()


def test_uniform_bounds_and_moments():
    a, b = -0.3, 0.7
    mean, std, _ = stats(init.uniform_(fg.empty(N_OUT, N_IN), a, b))
    values = fg.empty(N_OUT, N_IN)
    init.uniform_(values, a, b)
    assert values.numpy().min() >= a and values.numpy().max() < b
    assert mean == pytest.approx((a + b) / 2, abs=0.005)
    assert std == pytest.approx((b - a) / math.sqrt(12), rel=0.02)


def test_normal_moments():
    mean, std, _ = stats(init.normal_(fg.empty(N_OUT, N_IN), 2.0, 0.5))
    assert mean == pytest.approx(2.0, abs=0.01)
    assert std == pytest.approx(0.5, rel=0.02)


def test_xavier():
    fan_in, fan_out = N_IN, N_OUT
    expected_std = math.sqrt(2 / (fan_in + fan_out))
    t = init.xavier_uniform_(fg.empty(N_OUT, N_IN), gain=2.0)
    _, std, largest = stats(t)
    assert largest <= 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert std == pytest.approx(2.0 * expected_std, rel=0.02)
    mean, std, _ = stats(init.xavier_normal_(fg.empty(N_OUT, N_IN)))
    assert std == pytest.approx(expected_std, rel=0.02)
    assert abs(mean) < 0.02 * expected_std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", 0.2),
                                            ("leaky_relu", math.sqrt(5)), ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    shape = (60, 50, 3, 3)  # fan_in 450, fan_out 540
    fan = 450 if mode == "fan_in" else 540
    expected_std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    t = init.kaiming_uniform_(fg.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _, std, largest = stats(t)
    assert largest <= math.sqrt(3) * expected_std
    assert std == pytest.approx(expected_std, rel=0.02)
    _, std, _ = stats(init.kaiming_normal_(fg.empty(shape), a=a, mode=mode,
                                           nonlinearity=nonlinearity))
    assert std == pytest.approx(expected_std, rel=0.02)


def _truncated_normal_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) conditioned on [a, b] (closed form)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                          (1.0, 2.0, 0.0, 5.0), (0.0, 1.0, 1.0, 3.0)])
def test_trunc_normal(mean, std, a, b):
    t = init.trunc_normal_(fg.empty(N_OUT, N_IN), mean, std, a, b)
    values = t.numpy()
    assert values.min() >= a and values.max() <= b
    expected_mean, expected_std = _truncated_normal_moments(mean, std, a, b)
    got_mean, got_std, _ = stats(t)
    assert got_mean == pytest.approx(expected_mean, abs=0.01 * expected_std)
    assert got_std == pytest.approx(expected_std, rel=0.02)


def test_trunc_normal_far_from_the_mean_warns():
    with pytest.warns(UserWarning, match="more than 2 std"):
        t = init.trunc_normal_(fg.empty(100), mean=0.0, std=1.0, a=5.0, b=6.0)
    assert t.numpy().min() >= 5.0 and t.numpy().max() <= 6.0


def test_trunc_normal_rejects_bad_parameters():
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(fg.empty(3), a=1.0, b=-1.0)


def test_constants_and_eye():
    assert init.constant_(fg.empty(2, 3), 0.25).tolist() == [[0.25] * 3] * 2
    assert init.ones_(fg.empty(2)).tolist() == [1.0, 1.0]
    assert init.zeros_(fg.ones(2)).tolist() == [0.0, 0.0]
    assert init.eye_(fg.empty(3, 2)).tolist() == [[1, 0], [0, 1], [0, 0]]
    with pytest.raises(ShapeError, match="2 dimensions"):
        init.eye_(fg.empty(2, 2, 2))


# -- in place, reproducible -----------------------------------------------------------------------

DRAWS = {
    "uniform_": lambda t, g: init.uniform_(t, -1, 1, generator=g),
    "normal_": lambda t, g: init.normal_(t, 0, 1, generator=g),
    "trunc_normal_": lambda t, g: init.trunc_normal_(t, generator=g),
    "xavier_uniform_": lambda t, g: init.xavier_uniform_(t, generator=g),
    "xavier_normal_": lambda t, g: init.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda t, g: init.kaiming_uniform_(t, generator=g),
    "kaiming_normal_": lambda t, g: init.kaiming_normal_(t, generator=g),
}


@pytest.mark.parametrize("name", DRAWS)
def test_in_place_on_a_parameter_without_recording(name):
    param = fg.nn.Parameter(fg.zeros(4, 5))
    version = param._version
    result = DRAWS[name](param, None)
    assert result is param
    assert param.grad_fn is None and param.requires_grad
    assert param._version > version
    assert param.numpy(force=True).any()


@pytest.mark.parametrize("name", DRAWS)
def test_reproducible_under_manual_seed_and_generator(name):
    draw = DRAWS[name]
    fg.manual_seed(11)
    first = draw(fg.empty(4, 5), None).numpy().copy()
    fg.manual_seed(11)
    second = draw(fg.empty(4, 5), None).numpy()
    assert first.tobytes() == second.tobytes()
    generator = fg.Generator().manual_seed(11)
    third = draw(fg.empty(4, 5), generator).numpy()
    assert first.tobytes() == third.tobytes()


def test_keeps_the_tensor_dtype():
    t = init.kaiming_uniform_(fg.empty(3, 4, dtype=fg.float64))
    assert t.dtype == fg.float64
    assert init.normal_(fg.empty(3, dtype=fg.float16)).dtype == fg.float16


def test_kaiming_on_an_empty_tensor_warns_and_does_nothing():
    t = fg.empty(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(t) is t
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.xavier_uniform_(fg.empty(2, 3))
