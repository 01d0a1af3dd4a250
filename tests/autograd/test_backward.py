"""``Tensor.backward`` and ``fg.autograd.grad``: seeds, accumulation, fan-out, broadcasting,
higher-order gradients, hooks and ``retain_grad``."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar function ``f`` (NumPy in, float out)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def composite(x, w):
    """A small function touching several primitives, the same code for flowgrad and torch."""
    h = (x @ w).tanh() * x.sum(1, keepdim=True).sigmoid()
    return (h.exp() / (1 + h * h)).sum() + (w * w).mean()


def test_backward_of_a_scalar():
    x = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x * x).sum()
    assert y.backward() is None
    assert x.grad.tolist() == [3.0, 12.0, 27.0]
    assert x.grad.dtype is fg.float32 and not x.grad.requires_grad


def test_backward_of_a_non_scalar_with_gradient():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.backward(fg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 40.0]
    x.grad = None
    z = x * 3
    z.backward(gradient=np.array([2.0, 0.5]))  # arrays work too
    assert x.grad.tolist() == [6.0, 1.5]


def test_backward_gradient_of_another_dtype_takes_the_output_dtype():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.backward(fg.tensor([1.0, 1.0], dtype=fg.float64), retain_graph=True)
    y.backward(fg.tensor([1, 1]), retain_graph=True)
    assert x.grad.dtype is fg.float32 and x.grad.tolist() == [4.0, 4.0]
    (g,) = fg.autograd.grad(y, x, grad_outputs=fg.tensor([1.0, 0.5], dtype=fg.float64))
    assert g.dtype is fg.float32 and g.tolist() == [2.0, 1.0]


def test_backward_gradient_of_the_wrong_shape_is_a_shape_error():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(fg.ones(3))


def test_backward_on_a_leaf_itself():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    x.backward(fg.tensor([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


def test_gradients_accumulate_in_leaf_grad():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad.tolist()
    (x * 3).sum().backward()
    assert first == [2.0, 4.0]
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_leaf_grad_owns_its_memory():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    seed = fg.tensor([1.0, 1.0])
    x.backward(seed)
    x.grad += 1  # must not change the seed or anything else
    assert seed.tolist() == [1.0, 1.0]
    y = fg.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()  # one upstream gradient reaches two leaves
    x.grad.zero_()
    assert y.grad.tolist() == [1.0, 1.0]


def test_fan_out_gradients_are_summed():
    x = fg.tensor([2.0, -1.0], requires_grad=True)
    y = x * x + x * 3 + x  # x used four times
    y.sum().backward()
    assert x.grad.tolist() == [2 * 2.0 + 4, 2 * -1.0 + 4]
    a = fg.tensor(3.0, requires_grad=True)
    b = a * 2
    c = b * b + b  # a diamond through b
    c.backward()
    assert a.grad.item() == (2 * 6.0 + 1) * 2


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((2, 3), (3,)), ((2, 3), (1, 3)), ((4, 1, 3), (2, 1)), ((2, 3), ()), ((1,), (2, 2)),
     ((3, 1), (1, 4))],
)
def test_broadcast_gradients_are_reduced_to_the_input_shape(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    a = fg.tensor(a_np, requires_grad=True)
    b = fg.tensor(b_np, requires_grad=True)
    (a * b + a).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    expected_a = numeric_grad(lambda v: float((v * b_np + v).sum()), a_np)
    expected_b = numeric_grad(lambda v: float((a_np * v).sum()), b_np)
    np.testing.assert_allclose(a.grad.numpy(), expected_a, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), expected_b, rtol=1e-6)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)) * 0.5
    x = fg.tensor(x_np, requires_grad=True)
    w = fg.tensor(w_np, requires_grad=True)
    composite(x, w).backward()

    def value(x_value, w_value):
        return composite(fg.tensor(x_value), fg.tensor(w_value)).item()

    np.testing.assert_allclose(x.grad.numpy(), numeric_grad(lambda v: value(v, w_np), x_np),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w.grad.numpy(), numeric_grad(lambda v: value(x_np, v), w_np),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.torch
def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x, w = fg.tensor(x_np, requires_grad=True), fg.tensor(w_np, requires_grad=True)
    tx, tw = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    composite(x, w).backward()
    composite(tx, tw).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)


def test_float32_leaf_gets_float32_gradient_through_float64():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * fg.tensor([3.0, 4.0], dtype=fg.float64)).sum().backward()
    assert x.grad.dtype is fg.float32 and x.grad.tolist() == [3.0, 4.0]


def test_backward_with_inputs_accumulates_only_there():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    w = fg.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert w.grad.tolist() == [1.0, 2.0] and x.grad is None


def test_a_long_chain_needs_no_recursion():
    x = fg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.backward()
    assert abs(x.grad.item() - 1.0001**3000) < 1e-3


# -- retain_graph -----------------------------------------------------------------------------


def test_retain_graph_allows_a_second_backward():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_second_backward_through_a_freed_graph_raises():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0]  # the failed call added nothing


# -- autograd.grad ----------------------------------------------------------------------------


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    w = fg.tensor([3.0, 5.0], requires_grad=True)
    gx, gw = fg.autograd.grad((x * w).sum(), [x, w])
    assert gx.tolist() == [3.0, 5.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad
    (only,) = fg.autograd.grad((x * w).sum(), x)
    assert only.tolist() == [3.0, 5.0]


def test_grad_with_grad_outputs_and_several_outputs():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = fg.autograd.grad(x * x, x, grad_outputs=fg.tensor([1.0, 0.5]))
    assert g.tolist() == [2.0, 2.0]
    (g,) = fg.autograd.grad([(x * x).sum(), (x * 3).sum()], [x])
    assert g.tolist() == [5.0, 7.0]
    with pytest.raises(ValueError, match="2 outputs but 1 gradients"):
        fg.autograd.grad([x * 2, x * 3], x, grad_outputs=[fg.ones(2)])


def test_grad_of_an_intermediate_tensor():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    gh, gx = fg.autograd.grad(y, [h, x])
    assert gh.tolist() == [4.0, 8.0] and gx.tolist() == [8.0, 16.0]


def test_grad_of_an_intermediate_leaves_the_graph_below_it_alone():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x  # saves x: freeing this node would break the later calls
    (gh,) = fg.autograd.grad((h * 2).sum(), h)
    (gh2,) = fg.autograd.grad((h * h).sum(), h)
    (gx,) = fg.autograd.grad((h * 3).sum(), x)
    assert gh.tolist() == [2.0, 2.0] and gh2.tolist() == [2.0, 8.0]
    assert gx.tolist() == [6.0, 12.0]


def test_grad_runs_tensor_hooks():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (gx,) = fg.autograd.grad((x * 2).sum(), x)
    assert gx.tolist() == [20.0, 20.0]
    h = x * 1
    h.register_hook(lambda g: g + 1)
    (gh,) = fg.autograd.grad((h * 2).sum(), h)
    assert gh.tolist() == [3.0, 3.0]
    assert x.grad is None


def test_grad_retain_graph_default_frees_the_graph():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    fg.autograd.grad(y, x, retain_graph=True)
    fg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        fg.autograd.grad(y, x)


def test_grad_allow_unused():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    unused = fg.tensor([5.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        fg.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = fg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None


def test_grad_errors():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        fg.autograd.grad((x * 2).sum(), fg.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        fg.autograd.grad(fg.ones(2).sum(), x)
    with pytest.raises(RuntimeError, match="scalar"):
        fg.autograd.grad(x * 2, x)


# -- higher-order gradients -------------------------------------------------------------------


def test_second_derivative_of_cube():
    x = fg.tensor([1.0, 2.0, -3.0], requires_grad=True)
    (dx,) = fg.autograd.grad((x**3).sum(), x, create_graph=True)
    assert dx.requires_grad and dx.grad_fn is not None
    assert dx.tolist() == [3.0, 12.0, 27.0]
    (d2x,) = fg.autograd.grad(dx.sum(), x, create_graph=True)
    assert d2x.tolist() == [6.0, 12.0, -18.0]
    (d3x,) = fg.autograd.grad(d2x.sum(), x)
    assert d3x.tolist() == [6.0, 6.0, 6.0]


def test_second_derivative_of_sin():
    values = np.array([0.3, 1.0, 2.5])
    x = fg.tensor(values, requires_grad=True)
    (dx,) = fg.autograd.grad(x.sin().sum(), x, create_graph=True)
    np.testing.assert_allclose(dx.detach().numpy(), np.cos(values))
    (d2x,) = fg.autograd.grad(dx.sum(), x)
    np.testing.assert_allclose(d2x.numpy(), -np.sin(values))


def test_hessian_vector_product():
    a_np = np.array([[2.0, 1.0], [1.0, 3.0]])
    w_np = np.array([0.5, -0.2])
    v_np = np.array([1.0, -1.0])
    a, v = fg.tensor(a_np), fg.tensor(v_np)
    w = fg.tensor(w_np, requires_grad=True)

    def f(w):
        return (w * (a @ w)).sum() * (w * w).sum()  # (w^T A w) |w|^2

    (g,) = fg.autograd.grad(f(w), w, create_graph=True)
    (hv,) = fg.autograd.grad((g * v).sum(), w)
    # H = 2A |w|^2 + 4 (A w) w^T + 4 w (A w)^T + 2 (w^T A w) I
    aw, quad, norm2 = a_np @ w_np, w_np @ a_np @ w_np, w_np @ w_np
    hessian = (2 * a_np * norm2 + 4 * np.outer(aw, w_np) + 4 * np.outer(w_np, aw)
               + 2 * quad * np.eye(2))
    np.testing.assert_allclose(hv.numpy(), hessian @ v_np, rtol=1e-10)


@pytest.mark.torch
def test_hessian_vector_product_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x_np, w_np, v_np = (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)),
                        rng.standard_normal((4, 2)))

    def hvp(module, grad):
        x = module.tensor(x_np)
        w = module.tensor(w_np, requires_grad=True)
        (g,) = grad(composite(x, w), w, create_graph=True)
        (hv,) = grad((g * module.tensor(v_np)).sum(), w)
        return hv.detach().numpy()

    np.testing.assert_allclose(hvp(fg, fg.autograd.grad), hvp(torch, torch.autograd.grad),
                               rtol=1e-8, atol=1e-12)


def test_backward_with_create_graph_builds_a_differentiable_grad():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (d2,) = fg.autograd.grad(x.grad.sum(), x)
    assert d2.tolist() == [6.0, 12.0]


# -- retain_grad and hooks --------------------------------------------------------------------


def test_retain_grad_keeps_the_grad_of_a_non_leaf():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    other = x * 4
    (h * h + other).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert other.grad is None  # not retained
    assert x.grad.tolist() == [22.0, 40.0]


def test_retained_grads_along_fan_in_and_pass_through_nodes():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.retain_grad()
    k = h + h  # two gradients reach h
    k.retain_grad()
    m = k + 0  # add passes its gradient on unchanged
    m.retain_grad()
    (m + m + k * 3).sum().backward()
    assert m.grad.tolist() == [2.0, 2.0]
    assert k.grad.tolist() == [5.0, 5.0]
    assert h.grad.tolist() == [10.0, 10.0]
    assert x.grad.tolist() == [10.0, 10.0]


def test_retain_grad_accumulates():
    x = fg.tensor([1.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = h * 5
    y.backward(retain_graph=True)
    y.backward()
    assert h.grad.tolist() == [10.0]


def test_hooks_on_leaves_and_non_leaves():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    h = x * 2
    h.register_hook(lambda g: seen.append(("h", g.tolist())))
    h.register_hook(lambda g: g * 10)  # a hook may replace the gradient
    (h * h).sum().backward()
    assert seen == [("h", [4.0, 8.0]), ("x", [80.0, 160.0])]
    assert x.grad.tolist() == [80.0, 160.0]


def test_leaf_hook_replacing_the_gradient():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 0 + 1)
    (x * 7).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_hooks_need_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        fg.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="does not require grad"):
        fg.ones(2).retain_grad()
