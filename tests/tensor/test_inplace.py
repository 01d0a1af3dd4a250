"""Python operators, in-place operators (``+= -= *= /=``) and ``x[i] = v``."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import DTypeError, ShapeError


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (lambda a, b: a + b, [5.0, 2.0, 9.0]),
        (lambda a, b: a - b, [-3.0, -6.0, -3.0]),
        (lambda a, b: a * b, [4.0, -8.0, 18.0]),
        (lambda a, b: a / b, [0.25, -0.5, 0.5]),
        (lambda a, b: a**b, [1.0, 16.0, 729.0]),
        (lambda a, b: b // a, [4.0, -2.0, 2.0]),
        (lambda a, b: b % a, [0.0, 0.0, 0.0]),
        (lambda a, b: -a, [-1.0, 2.0, -3.0]),
        (lambda a, b: abs(a), [1.0, 2.0, 3.0]),
        (lambda a, b: +a, [1.0, -2.0, 3.0]),
    ],
)
def test_binary_and_unary_operators(op, expected):
    a = fg.tensor([1.0, -2.0, 3.0])
    b = fg.tensor([4.0, 4.0, 6.0])
    np.testing.assert_allclose(op(a, b).numpy(), expected)


def test_reflected_operators_with_python_numbers():
    t = fg.tensor([1.0, 2.0, 4.0])
    assert (2 + t).tolist() == [3.0, 4.0, 6.0]
    assert (2 - t).tolist() == [1.0, 0.0, -2.0]
    assert (2 * t).tolist() == [2.0, 4.0, 8.0]
    assert (2 / t).tolist() == [2.0, 1.0, 0.5]
    assert (2**t).tolist() == [2.0, 4.0, 16.0]
    assert (np.float32(1) + t).tolist() == [2.0, 3.0, 5.0]


def test_matmul_and_comparison_operators():
    m = fg.tensor([[1.0, 2.0], [3.0, 4.0]])
    v = fg.tensor([1.0, -1.0])
    assert (m @ v).tolist() == [-1.0, -1.0]
    assert (m @ m).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert (v < 0).tolist() == [False, True] and (v < 0).dtype is fg.bool_
    assert (v == fg.tensor([1.0, 1.0])).tolist() == [True, False]
    assert (v != 1.0).tolist() == [False, True]
    assert (v >= -1).tolist() == [True, True]
    assert v.__eq__(None) is False
    flags = fg.tensor([True, False])
    assert (~flags).tolist() == [False, True]
    assert (flags & fg.tensor([True, True])).tolist() == [True, False]
    assert (flags | fg.tensor([False, True])).tolist() == [True, True]


# -- in-place operators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "apply", "expected"),
    [
        ("+=", lambda t: t.__iadd__(2.0), [3.0, 4.0, 6.0]),
        ("-=", lambda t: t.__isub__(fg.tensor([1.0, 1.0, 1.0])), [0.0, 1.0, 3.0]),
        ("*=", lambda t: t.__imul__(fg.tensor(3.0)), [3.0, 6.0, 12.0]),
        ("/=", lambda t: t.__itruediv__(2), [0.5, 1.0, 2.0]),
        ("add_", lambda t: t.add_(fg.ones(3), alpha=2), [3.0, 4.0, 6.0]),
        ("mul_", lambda t: t.mul_(2), [2.0, 4.0, 8.0]),
        ("zero_", lambda t: t.zero_(), [0.0, 0.0, 0.0]),
        ("fill_", lambda t: t.fill_(7), [7.0, 7.0, 7.0]),
        ("copy_", lambda t: t.copy_(fg.tensor(5.0)), [5.0, 5.0, 5.0]),
        ("clamp_", lambda t: t.clamp_(1.5, 3.0), [1.5, 2.0, 3.0]),
    ],
)
def test_inplace_returns_the_same_object_modifies_memory_and_bumps_the_version(
        name, apply, expected):
    t = fg.tensor([1.0, 2.0, 4.0])
    memory = t.numpy()
    before = t._version
    result = apply(t)
    assert result is t, name
    np.testing.assert_allclose(memory, expected)  # the same buffer was written
    assert t._version == before + 1


def test_augmented_assignment_keeps_the_object():
    t = fg.tensor([1.0, 2.0])
    original = t
    t += 1
    t -= 0.5
    t *= 4
    t /= 2
    assert t is original
    assert t.tolist() == [3.0, 5.0]
    assert t._version == 4


def test_inplace_keeps_the_dtype_and_broadcasts_the_other_operand():
    t = fg.tensor([[1, 2], [3, 4]], dtype=fg.int32)
    t += fg.tensor([10, 20], dtype=fg.int64)
    assert t.dtype is fg.int32 and t.tolist() == [[11, 22], [13, 24]]
    f = fg.ones(2, dtype=fg.float16)
    f *= 2.5
    assert f.dtype is fg.float16 and f.tolist() == [2.5, 2.5]


def test_inplace_on_a_view_writes_through():
    base = fg.zeros(2, 3)
    row = base[1]
    row += 5
    assert base.tolist() == [[0, 0, 0], [5, 5, 5]]
    assert base._version == row._version == 1


def test_inplace_on_a_leaf_that_requires_grad_raises():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    for apply in [lambda: x.__iadd__(1), lambda: x.__imul__(2), lambda: x.mul_(2),
                  lambda: x.fill_(0), lambda: x.zero_()]:
        with pytest.raises(RuntimeError, match="requires grad"):
            apply()
    assert x.tolist() == [1.0, 2.0] and x._version == 0 and x.is_leaf


def test_inplace_on_a_leaf_under_no_grad_works():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with fg.no_grad():
        x -= 0.5
        x.mul_(2)
    assert x.tolist() == [1.0, 3.0]
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert x._version == 2


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    view = x[0:1]
    with pytest.raises(RuntimeError, match=r"view \(getitem\) of a tensor that requires grad"):
        view += 1
    assert x.tolist() == [1.0, 2.0]


def test_inplace_on_a_view_of_a_non_leaf_raises_instead_of_a_wrong_gradient():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    view = y[0:1]
    with pytest.raises(RuntimeError, match="clone"):
        view *= 3
    assert y.tolist() == [1.0, 2.0] and y._version == 0


def test_inplace_on_a_non_leaf_is_recorded():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y *= 2
    assert y.grad_fn.name() == "MulBackward" and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_inplace_chain_on_a_non_leaf_gives_correct_gradients():
    x = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y += x  # y = x^2 + x
    y *= x  # y = x^3 + x^2
    y -= 1
    y /= 2  # y = (x^3 + x^2 - 1) / 2
    y.sum().backward()
    xs = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), (3 * xs**2 + 2 * xs) / 2)
    np.testing.assert_allclose(y.detach().numpy(), (xs**3 + xs**2 - 1) / 2)


def test_inplace_plain_tensor_with_a_grad_operand_starts_recording():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    acc = fg.zeros(2)
    acc += x * x
    assert acc.requires_grad and acc.grad_fn is not None
    acc.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


# -- errors of in-place operations leave the tensor unchanged ---------------------------------


def test_failed_inplace_leaves_tensor_and_version_unchanged():
    t = fg.tensor([1.0, 2.0])
    with pytest.raises(ShapeError, match="broadcast"):
        t += fg.ones(3)
    with pytest.raises(ShapeError, match=r"\+="):
        t += fg.ones(2, 2)  # the result would be (2, 2): cannot grow the tensor in place
    ints = fg.tensor([1, 2])
    with pytest.raises(DTypeError, match="int64"):
        ints += 1.5
    with pytest.raises(DTypeError):
        ints /= 2
    assert t.tolist() == [1.0, 2.0] and t._version == 0 and t.grad_fn is None
    assert ints.tolist() == [1, 2] and ints._version == 0


def test_failed_inplace_on_a_read_only_view_changes_nothing():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    wide = y.expand(3, 2)
    node = wide.grad_fn
    with pytest.raises(RuntimeError, match="read-only"):
        wide += 1
    assert wide.grad_fn is node and y.tolist() == [1.0, 2.0]


# -- setitem ----------------------------------------------------------------------------------


def test_setitem_on_tensors_without_grad():
    t = fg.zeros(3, 3)
    t[0] = 1.0
    t[1, 1:] = fg.tensor([2.0, 3.0])
    t[:, 0] += 10
    t[fg.tensor([False, False, True])] = -1.0
    assert t.tolist() == [[11, 1, 1], [10, 2, 3], [-1, -1, -1]]
    assert t._version == 5  # t[:, 0] += 10 reads, adds in place on the view and writes back


def test_setitem_with_index_tensors_and_version():
    t = fg.arange(5)
    t[fg.tensor([0, 4])] = 9
    assert t.tolist() == [9, 1, 2, 3, 9] and t._version == 1
    with pytest.raises(DTypeError, match="float"):
        t[0] = 1.5
    with pytest.raises(ShapeError, match="setitem"):
        t[0:2] = fg.tensor([1, 2, 3])
    assert t.tolist() == [9, 1, 2, 3, 9] and t._version == 1


def test_setitem_on_a_tensor_requiring_grad_raises_in_grad_mode():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 5.0
    y = x * 2
    with pytest.raises(RuntimeError, match="requires grad"):
        y[1] = 0.0
    plain = fg.zeros(2)
    with pytest.raises(RuntimeError, match="requires grad"):
        plain[0] = x[0]  # the value requires grad
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [2.0, 4.0] and plain.tolist() == [0, 0]
    with fg.no_grad():
        x[0] = 5.0
    assert x.tolist() == [5.0, 2.0] and x.requires_grad and x._version == 1


def test_add_and_sub_with_alpha_in_place_as_optimizers_use_them():
    p = fg.tensor([1.0, 2.0], requires_grad=True)
    grad = fg.tensor([0.5, -1.0])
    with fg.no_grad():
        p.add_(grad, alpha=-0.1)
        p.sub_(grad, alpha=2)
    np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.05 - 1.0, 2.0 + 0.1 + 2.0], rtol=1e-6)
    assert p.dtype is fg.float32 and p.is_leaf and p._version == 2


def test_unrecorded_inplace_on_a_read_only_view_raises_and_changes_nothing():
    base = fg.tensor([1.0, 2.0])
    wide = base.expand(3, 2)
    with pytest.raises(RuntimeError, match="read-only"):
        wide += 1
    assert base.tolist() == [1.0, 2.0] and base._version == 0


# -- fused in-place updates (optimizers use them) -----------------------------------------------

FUSED = [
    ("lerp_", lambda t, a, b: t.lerp_(a, 0.25), lambda s, a, b: s + 0.25 * (a - s)),
    ("addcmul_", lambda t, a, b: t.addcmul_(a, b, value=-0.5), lambda s, a, b: s - 0.5 * a * b),
    ("addcdiv_", lambda t, a, b: t.addcdiv_(a, b, value=3.0), lambda s, a, b: s + 3.0 * a / b),
    ("addcdiv_ default value", lambda t, a, b: t.addcdiv_(a, b), lambda s, a, b: s + a / b),
    ("sqrt_", lambda t, a, b: t.sqrt_(), lambda s, a, b: np.sqrt(s)),
]


@pytest.mark.parametrize(("name", "method", "reference"), FUSED, ids=[f[0] for f in FUSED])
def test_fused_update_matches_numpy_and_keeps_memory(name, method, reference):
    rng = np.random.default_rng(1)
    start = rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
    a, b = rng.uniform(0.5, 2.0, (3,)), rng.uniform(0.5, 2.0, (2, 1))
    t = fg.tensor(start)
    memory, version = t._data, t._version
    assert method(t, fg.tensor(a), fg.tensor(b)) is t
    assert t._data is memory and t.dtype == fg.float32 and t._version == version + 1
    np.testing.assert_allclose(t.numpy(), reference(start, a, b), rtol=1e-6)


@pytest.mark.parametrize(("name", "method", "reference"), FUSED, ids=[f[0] for f in FUSED])
def test_fused_update_is_recorded_for_autograd(name, method, reference):
    x = fg.tensor([0.5, 1.0, 2.0], dtype=fg.float64, requires_grad=True)
    a = fg.tensor([1.5, -1.0, 0.5], dtype=fg.float64, requires_grad=True)
    b = fg.tensor([2.0, 0.75, 1.25], dtype=fg.float64)
    y = x * 1.0
    method(y, a, b).sum().backward()

    x0, a0, b0 = (t.detach().numpy() for t in (x, a, b))

    def total(xv, av):
        return reference(xv, av, b0).sum()

    for tensor, at in ((x, lambda v: total(v, a0)), (a, lambda v: total(x0, v))):
        base, eps = tensor.detach().numpy(), 1e-6
        numeric = [(at(base + eps * e) - at(base - eps * e)) / (2 * eps) for e in np.eye(3)]
        grad = np.zeros(3) if tensor.grad is None else tensor.grad.numpy()  # sqrt_ ignores a
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_fused_update_errors_change_nothing():
    t = fg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=r"addcmul=.*\(2, 3\).*\(3,\)"):
        t.addcmul_(fg.ones(2, 3), fg.ones(3))
    ints = fg.tensor([1, 2, 3])
    with pytest.raises(DTypeError, match=r"addcdiv=.*float32.*int64"):
        ints.addcdiv_(fg.ones(3), fg.ones(3))
    leaf = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="lerp=: a leaf tensor that requires grad"):
        leaf.lerp_(fg.zeros(3), 0.5)
    assert t.tolist() == [1.0, 2.0, 3.0] and ints.tolist() == [1, 2, 3]
    assert leaf.tolist() == [1.0, 2.0, 3.0]
