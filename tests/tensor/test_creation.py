"""Creating tensors: ``fg.tensor`` dtype inference, filled tensors, ranges, ``from_numpy``."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def dtype_name(dtype) -> str:
    """``flowgrad.float32`` and ``torch.float32`` both as ``"float32"``."""
    return str(dtype).split(".")[-1]


# -- fg.tensor --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype", "shape"),
    [
        (1.5, fg.float32, ()),
        (3, fg.int64, ()),
        (True, fg.bool_, ()),
        ([1.0, 2.0], fg.float32, (2,)),
        ([1, 2, 3], fg.int64, (3,)),
        ([True, False], fg.bool_, (2,)),
        ([1, 2.5], fg.float32, (2,)),  # one float makes the whole list floating
        ([True, 2], fg.int64, (2,)),
        ([[1, 2], [3, 4], [5, 6]], fg.int64, (3, 2)),
        ([[[1.0]], [[2.0]]], fg.float32, (2, 1, 1)),
        ([], fg.float32, (0,)),
    ],
)
def test_tensor_infers_pytorch_dtype_from_python_data(data, dtype, shape):
    t = fg.tensor(data)
    assert t.dtype is dtype
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), np.array(data, dtype=dtype.np))


@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.float16, np.int32, np.int64,
                                      np.bool_, np.uint8])
def test_tensor_from_numpy_array_keeps_its_dtype_and_copies(np_dtype):
    array = np.arange(6).reshape(2, 3).astype(np_dtype)
    t = fg.tensor(array)
    assert t.dtype.np == np.dtype(np_dtype)
    np.testing.assert_array_equal(t.numpy(), array)
    array[0, 0] = 1 - array[0, 0]  # fg.tensor copies: the tensor does not see the change
    assert t.numpy()[0, 0] != array[0, 0]


def test_tensor_from_numpy_scalar_keeps_its_dtype():
    assert fg.tensor(np.float64(1.5)).dtype is fg.float64
    assert fg.tensor(np.int32(7)).dtype is fg.int32
    assert fg.tensor(np.float64(1.5)).item() == 1.5


def test_tensor_with_explicit_dtype_converts():
    t = fg.tensor([1.7, -2.2], dtype=fg.int32)
    assert t.dtype is fg.int32
    assert t.tolist() == [1, -2]
    assert fg.tensor([1, 2], dtype=fg.float64).dtype is fg.float64
    assert fg.tensor([0, 3], dtype=fg.bool_).tolist() == [False, True]


def test_tensor_from_tensor_copies():
    a = fg.tensor([1.0, 2.0])
    b = fg.tensor(a)
    b += 1
    assert a.tolist() == [1.0, 2.0]
    assert b.tolist() == [2.0, 3.0]


def test_tensor_requires_grad():
    t = fg.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    assert not fg.tensor([1.0]).requires_grad


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1.0], [2.0, 3.0]], [[[1, 2]], [[3]]],
                                  [[1, 2], 3]])
def test_ragged_input_is_a_shape_error(data):
    with pytest.raises(ShapeError, match="ragged"):
        fg.tensor(data)
    assert issubclass(ShapeError, ValueError)


def test_non_numeric_input_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        fg.tensor(["a", "b"])


@pytest.mark.torch
@pytest.mark.parametrize(
    "data",
    [1.5, 3, True, [1.0, 2.0], [1, 2], [True, False], [1, 2.5], [True, 2], [[1, 2], [3, 4]],
     np.arange(3, dtype=np.int32), np.ones(2, dtype=np.float64), np.float16(2.0),
     np.zeros(3, dtype=np.uint8)],
)
def test_tensor_dtype_and_values_match_torch(torch, data):
    ours, theirs = fg.tensor(data), torch.tensor(data)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# -- filled tensors and ranges ----------------------------------------------------------------


def test_zeros_ones_empty_shapes_and_dtypes():
    z = fg.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype is fg.float32
    assert not z.numpy().any()
    assert fg.zeros((2, 3)).shape == (2, 3)
    assert fg.zeros([4]).shape == (4,)
    o = fg.ones(3, dtype=fg.int32)
    assert o.dtype is fg.int32 and o.tolist() == [1, 1, 1]
    assert fg.ones(()).shape == ()
    e = fg.empty(4, 2, dtype=fg.float64)
    assert e.shape == (4, 2) and e.dtype is fg.float64
    assert fg.zeros(2, requires_grad=True).requires_grad


def test_full_infers_dtype_from_the_fill_value():
    assert fg.full((2,), 3).dtype is fg.int64
    assert fg.full((2,), 3.0).dtype is fg.float32
    assert fg.full((2,), True).dtype is fg.bool_
    t = fg.full((2, 2), 7.5, dtype=fg.float64)
    assert t.dtype is fg.float64
    np.testing.assert_array_equal(t.numpy(), np.full((2, 2), 7.5))


def test_like_functions_keep_shape_and_dtype():
    base = fg.tensor([[1, 2, 3]], dtype=fg.int32)
    for made, value in [(fg.zeros_like(base), 0), (fg.ones_like(base), 1),
                        (fg.full_like(base, 9), 9)]:
        assert made.shape == (1, 3) and made.dtype is fg.int32
        assert made.tolist() == [[value] * 3]
    assert fg.zeros_like(base, dtype=fg.float64).dtype is fg.float64
    assert fg.ones_like(fg.ones(2), requires_grad=True).requires_grad
    made = fg.full_like(fg.ones(2), 0.25)
    assert made.dtype is fg.float32 and made.tolist() == [0.25, 0.25]


def test_arange():
    assert fg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert fg.arange(5).dtype is fg.int64
    assert fg.arange(2, 9, 3).tolist() == [2, 5, 8]
    stepped = fg.arange(1.0, 2.0, 0.25)
    assert stepped.dtype is fg.float32
    assert stepped.tolist() == [1.0, 1.25, 1.5, 1.75]
    assert fg.arange(3, dtype=fg.float64).dtype is fg.float64
    assert fg.arange(5, 0, -2).tolist() == [5, 3, 1]
    with pytest.raises(ValueError, match="step"):
        fg.arange(0, 3, 0)


def test_linspace_and_eye():
    line = fg.linspace(0, 1, 5)
    assert line.dtype is fg.float32
    np.testing.assert_allclose(line.numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    assert fg.linspace(-1, 1, 3, dtype=fg.float64).tolist() == [-1.0, 0.0, 1.0]
    eye = fg.eye(3)
    assert eye.dtype is fg.float32
    np.testing.assert_array_equal(eye.numpy(), np.eye(3))
    np.testing.assert_array_equal(fg.eye(2, 3).numpy(), np.eye(2, 3))


@pytest.mark.torch
def test_creation_functions_match_torch(torch):
    cases = [
        ("zeros", lambda m: m.zeros(2, 3)),
        ("ones", lambda m: m.ones(2, dtype=m.int32)),
        ("full int", lambda m: m.full((2,), 3)),
        ("full float", lambda m: m.full((2,), 3.5)),
        ("full bool", lambda m: m.full((2,), True)),
        ("arange int", lambda m: m.arange(0, 7, 2)),
        ("arange float", lambda m: m.arange(0.0, 1.0, 0.125)),
        ("linspace", lambda m: m.linspace(-2, 3, 7)),
        ("eye", lambda m: m.eye(3, 2)),
        ("zeros_like", lambda m: m.zeros_like(m.ones(2, 2, dtype=m.float64))),
        ("ones_like", lambda m: m.ones_like(m.ones(3, dtype=m.int32))),
        ("full_like", lambda m: m.full_like(m.ones(3, dtype=m.int64), 4)),
    ]
    for name, make in cases:
        ours, theirs = make(fg), make(torch)
        assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), name
        assert ours.shape == tuple(theirs.shape), name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)
    for make in [lambda m: m.rand(2, 3), lambda m: m.randn(4), lambda m: m.randint(0, 5, (3,)),
                 lambda m: m.normal(0.0, 1.0, size=(2,)), lambda m: m.empty(2)]:
        ours, theirs = make(fg), make(torch)
        assert dtype_name(ours.dtype) == dtype_name(theirs.dtype)
        assert ours.shape == tuple(theirs.shape)


# -- random creation --------------------------------------------------------------------------


def test_random_tensors_have_the_right_range_shape_and_dtype():
    fg.manual_seed(0)
    u = fg.rand(1000)
    assert u.dtype is fg.float32 and u.shape == (1000,)
    assert u.numpy().min() >= 0.0 and u.numpy().max() < 1.0
    n = fg.randn(2000, dtype=fg.float64)
    assert n.dtype is fg.float64
    assert abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1) < 0.1
    ints = fg.randint(3, 7, (500,))
    assert ints.dtype is fg.int64
    assert set(ints.tolist()) == {3, 4, 5, 6}
    assert fg.randint(4, (10,)).numpy().max() < 4
    shifted = fg.normal(5.0, 0.5, size=(2000,))
    assert shifted.dtype is fg.float32
    assert abs(shifted.numpy().mean() - 5) < 0.1 and abs(shifted.numpy().std() - 0.5) < 0.05
    assert fg.rand(2, requires_grad=True).requires_grad


def test_normal_with_tensor_mean_and_std_is_elementwise():
    fg.manual_seed(1)
    mean = fg.tensor([0.0, 100.0, -100.0], dtype=fg.float64)
    sample = fg.normal(mean, fg.tensor([1e-3, 1e-3, 1e-3], dtype=fg.float64))
    assert sample.dtype is fg.float64 and sample.shape == (3,)
    np.testing.assert_allclose(sample.numpy(), mean.numpy(), atol=0.01)
    with pytest.raises(ValueError, match="std"):
        fg.normal(0.0, -1.0, size=(2,))


# -- from_numpy -------------------------------------------------------------------------------


def test_from_numpy_shares_memory_both_ways():
    array = np.array([1.0, 2.0, 3.0], dtype=np.float64)
    t = fg.from_numpy(array)
    assert t.dtype is fg.float64
    array[0] = 10.0  # NumPy -> tensor
    assert t.tolist() == [10.0, 2.0, 3.0]
    t += 1  # tensor -> NumPy (in place)
    np.testing.assert_array_equal(array, [11.0, 3.0, 4.0])
    t[1] = -5.0
    assert array[1] == -5.0
    assert np.shares_memory(t.numpy(), array)


def test_from_numpy_rejects_other_input():
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        fg.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="unsupported dtype"):
        fg.from_numpy(np.array([1 + 2j]))
