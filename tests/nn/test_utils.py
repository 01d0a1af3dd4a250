"""``fg.nn.utils``: gradient clipping and parameter/vector conversion, against NumPy and (where
installed) PyTorch, and their errors."""

from __future__ import annotations

import inspect
import math
import os

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError

utils = fg.nn.utils
FILE = os.path.basename(__file__)
SHAPES = [(3, 4), (5,), ()]


def gradient_arrays(seed: int = 0, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32) for shape in SHAPES]


def parameters_with(grads: list[np.ndarray]) -> list[fg.nn.Parameter]:
    params = []
    for g in grads:
        p = fg.nn.Parameter(fg.zeros(g.shape))
        p.grad = fg.tensor(g.copy())
        params.append(p)
    return params


def total_norm_ref(grads: list[np.ndarray], p: float) -> float:
    flat = np.concatenate([g.reshape(-1).astype(np.float64) for g in grads])
    if p == math.inf:
        return float(np.abs(flat).max())
    return float((np.abs(flat) ** p).sum() ** (1 / p))


# -- clip_grad_norm_ ----------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_against_numpy(norm_type, max_norm):
    grads = gradient_arrays()
    params = parameters_with(grads)
    total = utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = total_norm_ref(grads, norm_type)
    assert isinstance(total, fg.Tensor) and total.shape == () and total.dtype == fg.float32
    np.testing.assert_allclose(total.item(), expected, rtol=1e-6)
    scale = min(max_norm / (expected + 1e-6), 1.0)
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-6)
    if max_norm < expected:  # clipped: the new total norm is max_norm
        clipped = [p.grad.numpy() for p in params]
        np.testing.assert_allclose(total_norm_ref(clipped, norm_type), max_norm, rtol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.5, math.inf, 0.0])
def test_clip_grad_norm_against_torch(norm_type):
    torch = pytest.importorskip("torch")
    grads = gradient_arrays(seed=1, scale=3.0)
    params = parameters_with(grads)
    t_params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(t_params, grads, strict=True):
        t.grad = torch.tensor(g.copy())
    total = utils.clip_grad_norm_(params, 1.0, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, 1.0, norm_type)
    np.testing.assert_allclose(total.numpy(), t_total.numpy(), rtol=1e-6)
    for p, t in zip(params, t_params, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_of_a_model():
    """The usual call: ``model.parameters()`` (a generator), a single tensor, no gradients."""
    model = fg.nn.Module()
    model.w = fg.nn.Parameter(fg.ones(3))
    model.unused = fg.nn.Parameter(fg.ones(2))  # no .grad: skipped
    model.w.grad = fg.tensor([3.0, 0.0, 4.0])
    assert utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(model.w.grad.numpy(), [0.6, 0.0, 0.8], rtol=1e-5)
    assert model.unused.grad is None
    single = fg.nn.Parameter(fg.zeros(2))
    single.grad = fg.tensor([0.3, 0.4])
    assert utils.clip_grad_norm_(single, 10.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(single.grad.numpy(), [0.3, 0.4], rtol=1e-5)  # below: unchanged
    empty = utils.clip_grad_norm_([model.unused], 1.0)
    assert isinstance(empty, fg.Tensor) and empty.item() == 0.0


def test_clip_grad_norm_scales_in_place_and_records_nothing():
    p = fg.nn.Parameter(fg.zeros(2))
    p.grad = grad = fg.tensor([30.0, 40.0])
    total = utils.clip_grad_norm_([p], 5.0)
    assert p.grad is grad  # the same tensor, scaled in place
    assert not total.requires_grad and total.grad_fn is None


def test_clip_grad_norm_non_finite():
    p = fg.nn.Parameter(fg.zeros(2))
    p.grad = fg.tensor([1.0, float("nan")])
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    message = str(info.value)
    assert "clip_grad_norm_" in message and "non-finite" in message
    assert "error_if_nonfinite=False" in message and f"{FILE}:{line})" in message
    assert p.grad.numpy()[0] == 1.0  # nothing was scaled
    total = utils.clip_grad_norm_([p], 1.0)  # as PyTorch: scaled by the NaN norm anyway
    assert math.isnan(total.item()) and np.isnan(p.grad.numpy()).all()


# -- clip_grad_value_ ---------------------------------------------------------------------------


def test_clip_grad_value():
    grads = gradient_arrays(scale=2.0)
    params = parameters_with(grads)
    assert utils.clip_grad_value_(params, 1.5) is None
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -1.5, 1.5))
    single = fg.nn.Parameter(fg.zeros(2))
    single.grad = fg.tensor([-3.0, 0.25])
    utils.clip_grad_value_(single, 1)
    assert single.grad.tolist() == [-1.0, 0.25]


@pytest.mark.torch
def test_clip_grad_value_against_torch():
    torch = pytest.importorskip("torch")
    grads = gradient_arrays(seed=2, scale=2.0)
    params = parameters_with(grads)
    t_params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(t_params, grads, strict=True):
        t.grad = torch.tensor(g.copy())
    utils.clip_grad_value_(params, 0.7)
    torch.nn.utils.clip_grad_value_(t_params, 0.7)
    for p, t in zip(params, t_params, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


# -- parameters_to_vector / vector_to_parameters ------------------------------------------------


def test_parameters_to_vector_and_back():
    rng = np.random.default_rng(3)
    params = [fg.nn.Parameter(fg.tensor(rng.standard_normal(s).astype(np.float32)))
              for s in SHAPES]
    vector = utils.parameters_to_vector(params)
    assert vector.shape == (12 + 5 + 1,)
    np.testing.assert_array_equal(
        vector.detach().numpy(), np.concatenate([p.detach().numpy().reshape(-1) for p in params]))
    new_values = np.arange(18, dtype=np.float32)
    utils.vector_to_parameters(fg.tensor(new_values), params)
    np.testing.assert_array_equal(params[0].detach().numpy(), new_values[:12].reshape(3, 4))
    np.testing.assert_array_equal(params[1].detach().numpy(), new_values[12:17])
    assert params[2].item() == 17.0 and params[2].shape == ()
    assert all(isinstance(p, fg.nn.Parameter) and p.requires_grad for p in params)


def test_parameters_to_vector_is_differentiable():
    a, b = fg.nn.Parameter(fg.ones(2, 2)), fg.nn.Parameter(fg.ones(3))
    vector = utils.parameters_to_vector([a, b])
    (vector * fg.arange(7.0)).sum().backward()
    assert a.grad.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert b.grad.tolist() == [4.0, 5.0, 6.0]


@pytest.mark.torch
def test_parameters_to_vector_against_torch():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(3, 2)
    params = [fg.nn.Parameter(fg.tensor(p.detach().numpy().copy())) for p in layer.parameters()]
    np.testing.assert_array_equal(utils.parameters_to_vector(params).detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(layer.parameters())
                                  .detach().numpy())


def test_vector_to_parameters_errors_change_nothing():
    params = [fg.nn.Parameter(fg.zeros(2)), fg.nn.Parameter(fg.zeros(3))]
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError) as info:
        utils.vector_to_parameters(fg.ones(4), params)
    message = str(info.value)
    assert "vector_to_parameters" in message and "5 elements" in message and "(4,)" in message
    assert f"{FILE}:{line})" in message
    with pytest.raises(ShapeError):
        utils.vector_to_parameters(fg.ones(5, 1), params)
    with pytest.raises(TypeError, match="must be a Tensor, got ndarray"):
        utils.vector_to_parameters(np.ones(5), params)
    assert all(p.detach().numpy().sum() == 0 for p in params)
