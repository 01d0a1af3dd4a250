"""Tensor attributes, conversions (numpy, item, to, detach, clone) and repr."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import DTypeError, ShapeError

# -- attributes -------------------------------------------------------------------------------


def test_shape_dtype_ndim_size_numel_device():
    t = fg.zeros(2, 3, 4, dtype=fg.float64)
    assert t.shape == (2, 3, 4)
    assert t.dtype is fg.float64
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4)
    assert (t.size(0), t.size(1), t.size(-1), t.size(-3)) == (2, 3, 4, 2)
    assert t.numel() == 24 and fg.numel(t) == 24
    assert t.device == fg.device("cpu") and t.device == "cpu" and str(t.device) == "cpu"
    assert t.element_size() == 8 and t.nbytes == 192
    assert len(t) == 2
    scalar = fg.tensor(1.0)
    assert scalar.shape == () and scalar.ndim == 0 and scalar.numel() == 1
    with pytest.raises(ShapeError, match="size"):
        t.size(3)
    with pytest.raises(TypeError):
        len(scalar)


def test_autograd_attributes_of_leaves_and_results():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    plain = fg.tensor([1.0, 2.0])
    assert x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    assert not plain.requires_grad and plain.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    assert y.grad_fn is not None and y.grad_fn.name() == "MulBackward"
    z = plain * 2  # nothing requires grad: nothing is recorded
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None


def test_requires_grad_underscore_and_setter():
    t = fg.ones(3)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad
    t.requires_grad = True
    assert t.requires_grad
    non_leaf = t * 2
    with pytest.raises(RuntimeError, match="leaf"):
        non_leaf.requires_grad_(False)
    with pytest.raises(DTypeError, match="floating-point"):
        fg.ones(2, dtype=fg.int64).requires_grad_()


# -- conversions ------------------------------------------------------------------------------


def test_numpy_shares_memory():
    t = fg.tensor([1.0, 2.0, 3.0])
    array = t.numpy()
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    array[0] = 9.0
    assert t.tolist() == [9.0, 2.0, 3.0]
    t += 1
    np.testing.assert_array_equal(array, [10.0, 3.0, 4.0])


def test_numpy_on_a_tensor_that_requires_grad_raises():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        (x * 2).numpy()
    assert np.shares_memory(x.detach().numpy(), x.detach().numpy())
    copy = x.numpy(force=True)
    copy[0] = 5.0
    assert x.tolist() == [1.0, 2.0]


def test_item_and_python_numbers():
    assert fg.tensor(2.5).item() == 2.5 and isinstance(fg.tensor(2.5).item(), float)
    assert fg.tensor([7]).item() == 7 and isinstance(fg.tensor([7]).item(), int)
    assert fg.tensor([[True]]).item() is True
    assert float(fg.tensor(1.5)) == 1.5 and int(fg.tensor(3.9)) == 3
    assert bool(fg.tensor([1.0])) and not bool(fg.tensor(0))
    with pytest.raises(RuntimeError, match="3 elements"):
        fg.ones(3).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(fg.ones(2))


def test_tolist():
    assert fg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert fg.tensor(1.5).tolist() == 1.5
    values = fg.tensor([0.5, 1.0]).tolist()
    assert values == [0.5, 1.0] and all(type(v) is float for v in values)


def test_array_protocol():
    t = fg.tensor([[1.0, 2.0]])
    array = np.asarray(t)
    assert array.shape == (1, 2) and array.dtype == np.float32
    assert np.shares_memory(array, t.numpy())
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(np.array(t, copy=True), t.numpy())
    assert np.add(t, 1.0).tolist() == [[2.0, 3.0]]


@pytest.mark.parametrize(
    ("convert", "dtype", "values"),
    [
        (lambda t: t.float(), fg.float32, [1.5, -2.5, 0.0]),
        (lambda t: t.double(), fg.float64, [1.5, -2.5, 0.0]),
        (lambda t: t.half(), fg.float16, [1.5, -2.5, 0.0]),
        (lambda t: t.long(), fg.int64, [1, -2, 0]),
        (lambda t: t.int(), fg.int32, [1, -2, 0]),
        (lambda t: t.bool(), fg.bool_, [True, True, False]),
        (lambda t: t.to(fg.int32), fg.int32, [1, -2, 0]),
        (lambda t: t.to("float64"), fg.float64, [1.5, -2.5, 0.0]),
        (lambda t: t.to(fg.zeros(1, dtype=fg.int64)), fg.int64, [1, -2, 0]),
        (lambda t: t.to(dtype=fg.float16), fg.float16, [1.5, -2.5, 0.0]),
        (lambda t: t.to("cpu", fg.float64), fg.float64, [1.5, -2.5, 0.0]),
    ],
)
def test_dtype_conversions(convert, dtype, values):
    t = fg.tensor([1.5, -2.5, 0.0])
    converted = convert(t)
    assert converted.dtype is dtype
    assert converted.tolist() == values
    assert t.dtype is fg.float32 and t.tolist() == [1.5, -2.5, 0.0]  # the source is unchanged


def test_to_the_same_dtype_or_device_returns_the_tensor():
    t = fg.ones(2)
    assert t.to(fg.float32) is t and t.float() is t and t.to("cpu") is t and t.cpu() is t
    with pytest.raises(ValueError, match="cpu"):
        t.to("cuda")


def test_to_is_differentiable():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype is fg.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype is fg.float32
    assert x.grad.tolist() == [2.0, 4.0]


def test_detach_shares_memory_and_leaves_the_graph():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    d[0] = 100.0
    assert y.tolist() == [100.0, 6.0]
    assert d.tolist() == y.tolist()
    assert (d * x).grad_fn is not None  # x still requires grad


def test_data_is_a_detached_view():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    data = w.data
    assert not data.requires_grad
    data *= 2  # data's own version bumps are shared with w
    assert w.tolist() == [2.0, 4.0] and w.requires_grad and w._version == 1
    w.data = fg.tensor([5.0, 6.0])
    assert w.tolist() == [5.0, 6.0] and w.requires_grad and w.is_leaf


def test_clone_copies_and_lets_gradients_flow():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.requires_grad and not c.is_leaf
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    (c * c).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    plain = fg.tensor([1, 2])
    copy = plain.clone()
    copy += 1
    assert plain.tolist() == [1, 2] and copy.tolist() == [2, 3] and copy.dtype is fg.int64


# -- repr -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: fg.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
        (lambda: fg.tensor([1.0, 2.0]), "tensor([1., 2.])"),
        (lambda: fg.tensor([1.5, 2.0]), "tensor([1.5000, 2.0000])"),
        (lambda: fg.tensor(2.5), "tensor(2.5000)"),
        (lambda: fg.tensor(3.0), "tensor(3.)"),
        (lambda: fg.tensor([1, 2]), "tensor([1, 2])"),
        (lambda: fg.tensor([True, False]), "tensor([ True, False])"),
        (lambda: fg.tensor([1.0, 2.0], dtype=fg.float64),
         "tensor([1., 2.], dtype=flowgrad.float64)"),
        (lambda: fg.tensor([1, 2], dtype=fg.int32), "tensor([1, 2], dtype=flowgrad.int32)"),
        (lambda: fg.tensor([1.0], dtype=fg.float16), "tensor([1.], dtype=flowgrad.float16)"),
        (lambda: fg.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
        (lambda: fg.tensor([1.0, 2.0], requires_grad=True) * 2,
         "tensor([2., 4.], grad_fn=<MulBackward>)"),
        (lambda: fg.tensor([1.0, 2.0], requires_grad=True).sum(),
         "tensor(3., grad_fn=<SumBackward>)"),
        (lambda: fg.tensor([1.0, 2.0], requires_grad=True).double() + 1,
         "tensor([2., 3.], dtype=flowgrad.float64, grad_fn=<AddBackward>)"),
        (lambda: fg.tensor([1.0], dtype=fg.float64, requires_grad=True),
         "tensor([1.], dtype=flowgrad.float64, requires_grad=True)"),
        (lambda: fg.Tensor([1, 2]), "tensor([1., 2.])"),
        (lambda: fg.zeros(0), "tensor([])"),
        (lambda: fg.zeros(2, 0), "tensor([], size=(2, 0))"),
        (lambda: fg.zeros(0, dtype=fg.int64), "tensor([], dtype=flowgrad.int64)"),
        (lambda: fg.tensor([123456.0, 1.0]), "tensor([1.2346e+05, 1.0000e+00])"),
    ],
)
def test_repr(make, expected):
    assert repr(make()) == expected


@pytest.mark.torch
def test_repr_matches_torch_apart_from_the_module_name():
    torch = pytest.importorskip("torch")
    cases = [
        lambda m: m.tensor([1.0, 2.0], requires_grad=True),
        lambda m: m.tensor([[1.5, -2.25], [3.0, 4.125]]),
        lambda m: m.tensor([1, 2, 3], dtype=m.int32),
        lambda m: m.tensor(0.1, dtype=m.float64),
        lambda m: m.arange(6).reshape(2, 3),
        lambda m: m.zeros(2, 0, dtype=m.int32),
        lambda m: m.tensor([1e-5, 1.0]),
        lambda m: m.tensor([100.0, 2.0]),
    ]
    for make in cases:
        assert repr(make(fg)).replace("flowgrad.", "torch.") == repr(make(torch))
