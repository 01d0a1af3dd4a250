"""Errors are part of the API: the error type, the operation, the shapes or dtypes, the user's
line and the fix; and nothing changes before they are raised."""

import inspect
import os

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import (
    AnomalyError,
    CheckpointError,
    DTypeError,
    GraphError,
    ShapeError,
    TracingError,
)

FILE = os.path.basename(__file__)


def raised(fn):
    """Call ``fn`` and return ``(the error it raised, the caller's line)``.

    Write the call on one line, ``error, line = raised(lambda: ...)``: the lambda's line, the
    user's line the message must name, is then the caller's line.
    """
    line = inspect.currentframe().f_back.f_lineno
    with pytest.raises(Exception) as info:
        fn()
    return info.value, line


def test_error_types_subclass_the_builtins():
    assert issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(GraphError, RuntimeError)
    assert issubclass(TracingError, RuntimeError)
    assert issubclass(CheckpointError, ValueError)
    assert issubclass(AnomalyError, RuntimeError)


# -- shape errors -----------------------------------------------------------------------------


def test_broadcast_mismatch():
    a, b = fg.ones(3, 4), fg.ones(5)
    error, line = raised(lambda: a + b)
    assert isinstance(error, ShapeError)
    message = str(error)
    assert message.startswith("add:")
    assert "(3, 4)" in message and "(5,)" in message
    assert f"{FILE}:{line})" in message


@pytest.mark.parametrize("op", ["sub", "mul", "div", "maximum", "eq"])
def test_broadcast_mismatch_names_each_op(op):
    a, b = fg.ones(2, 3), fg.ones(4, 3)
    error, line = raised(lambda: getattr(fg, op)(a, b))
    assert isinstance(error, ShapeError)
    assert str(error).startswith(f"{op}:")
    assert "(2, 3)" in str(error) and "(4, 3)" in str(error)
    assert f"{FILE}:{line})" in str(error)


def test_broadcast_mismatch_of_operators_with_grad():
    a = fg.ones(3, 4, requires_grad=True)
    error, line = raised(lambda: a * fg.ones(5))
    assert isinstance(error, ShapeError)
    assert str(error).startswith("mul:") and f"{FILE}:{line})" in str(error)


def test_matmul_mismatch():
    a, b = fg.ones(3, 4), fg.ones(5)
    error, line = raised(lambda: a @ b)
    assert isinstance(error, ShapeError)
    message = str(error)
    assert message.startswith("matmul:")
    assert "(3, 4)" in message and "(5,)" in message
    assert f"{FILE}:{line})" in message


def test_matmul_mismatch_of_matrices():
    a, b = fg.ones(2, 3), fg.ones(4, 2)
    error, line = raised(lambda: fg.matmul(a, b))
    assert isinstance(error, ShapeError)
    message = str(error)
    assert "(2, 3)" in message and "(4, 2)" in message and "3" in message
    assert f"{FILE}:{line})" in message
    error, _ = raised(lambda: fg.ones(3) @ fg.tensor(2.0))
    assert isinstance(error, ShapeError) and "matmul" in str(error)


def test_reshape_mismatch():
    a = fg.ones(3, 4)
    error, line = raised(lambda: a.reshape(5))
    assert isinstance(error, ShapeError)
    message = str(error)
    assert message.startswith("reshape:")
    assert "(3, 4)" in message and "(5,)" in message and "12" in message
    assert f"{FILE}:{line})" in message
    error, line = raised(lambda: fg.reshape(a, (5, -1)))
    assert isinstance(error, ShapeError) and f"{FILE}:{line})" in str(error)


def test_dimension_out_of_range():
    a = fg.ones(2, 3)
    error, line = raised(lambda: a.sum(dim=2))
    assert isinstance(error, ShapeError)
    assert "sum" in str(error) and "out of range" in str(error)
    assert f"{FILE}:{line})" in str(error)


def test_ragged_data():
    error, line = raised(lambda: fg.tensor([[1.0, 2.0], [3.0]]))
    assert isinstance(error, ShapeError)
    assert str(error).startswith("tensor():") and f"{FILE}:{line})" in str(error)


# -- autograd errors --------------------------------------------------------------------------


def test_backward_of_a_non_scalar_without_gradient():
    x = fg.ones(2, 3, requires_grad=True)
    y = x * 2
    error, line = raised(lambda: y.backward())
    assert type(error) is RuntimeError
    message = str(error)
    assert "scalar" in message and "(2, 3)" in message and f"{FILE}:{line}" in message
    assert "gradient=" in message and ".sum().backward()" in message  # what to do
    assert x.grad is None


def test_second_backward_through_a_freed_graph():
    x = fg.ones(2, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    error, line = raised(lambda: y.backward())
    assert type(error) is RuntimeError
    assert "second time" in str(error) and "retain_graph=True" in str(error)
    assert f"{FILE}:{line}" in str(error)


def test_backward_of_something_that_does_not_require_grad():
    error, line = raised(lambda: fg.ones(2).sum().backward())
    assert type(error) is RuntimeError
    assert "requires_grad=True" in str(error) and "no_grad" in str(error)
    assert f"{FILE}:{line}" in str(error)


@pytest.mark.parametrize("dtype", [fg.int64, fg.int32, fg.bool_])
def test_requires_grad_on_a_non_float_tensor(dtype):
    error, line = raised(lambda: fg.ones(2, dtype=dtype).requires_grad_())
    assert isinstance(error, DTypeError)
    message = str(error)
    assert "floating-point" in message and dtype.name in message and ".float()" in message
    assert f"{FILE}:{line})" in message
    error, _ = raised(lambda: fg.tensor([1, 2], dtype=dtype, requires_grad=True))
    assert isinstance(error, DTypeError)
    t = fg.ones(2, dtype=dtype)
    error, _ = raised(lambda: setattr(t, "requires_grad", True))
    assert isinstance(error, DTypeError)
    assert not t.requires_grad


def test_inplace_on_a_leaf_that_requires_grad():
    w = fg.ones(2, requires_grad=True)
    error, line = raised(lambda: w.add_(1))
    assert type(error) is RuntimeError
    assert "leaf" in str(error) and "fg.no_grad()" in str(error)
    assert f"{FILE}:{line})" in str(error)


# -- nothing changes before an error ----------------------------------------------------------


def test_failed_inplace_ops_change_nothing():
    t = fg.tensor([[1.0, 2.0, 3.0]])
    memory = t.numpy().copy()
    for bad in [lambda: t.add_(fg.ones(2)), lambda: t.mul_(fg.ones(4, 3)),
                lambda: t.sub_(fg.ones(2, 2)), lambda: t.div_(fg.ones(3, 1)),
                lambda: t.copy_(fg.ones(2))]:
        error, _ = raised(bad)
        assert isinstance(error, ShapeError)
        np.testing.assert_array_equal(t.numpy(), memory)
        assert t._version == 0 and t.grad_fn is None and not t.requires_grad
    ints = fg.tensor([1, 2, 3])
    error, line = raised(lambda: ints.mul_(0.5))
    assert isinstance(error, DTypeError)
    assert "float32" in str(error) and "int64" in str(error) and f"{FILE}:{line})" in str(error)
    assert ints.tolist() == [1, 2, 3] and ints._version == 0


def test_failed_inplace_on_a_recorded_tensor_keeps_its_graph():
    x = fg.ones(3, requires_grad=True)
    y = x * 2
    node = y.grad_fn
    error, _ = raised(lambda: y.add_(fg.ones(2)))
    assert isinstance(error, ShapeError)
    assert y.grad_fn is node and y._version == 0
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_failed_inplace_on_a_leaf_changes_nothing():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    error, _ = raised(lambda: w.mul_(3))
    assert isinstance(error, RuntimeError)
    assert w.tolist() == [1.0, 2.0] and w._version == 0 and w.is_leaf and w.grad_fn is None


def test_failed_setitem_changes_nothing():
    t = fg.zeros(2, 3)
    error, line = raised(lambda: t.__setitem__(0, fg.ones(4)))
    assert isinstance(error, ShapeError) and f"{FILE}:{line})" in str(error)
    assert not t.numpy().any() and t._version == 0


def test_failed_backward_leaves_grads_and_graph_usable():
    x = fg.ones(2, requires_grad=True)
    y = x * 3
    error, _ = raised(lambda: y.backward(fg.ones(3)))
    assert isinstance(error, ShapeError)
    assert x.grad is None
    y.backward(fg.ones(2))  # the graph was not freed by the failed call
    assert x.grad.tolist() == [3.0, 3.0]


def test_failed_requires_grad_changes_nothing():
    t = fg.tensor([1, 2])
    raised(lambda: t.requires_grad_())
    assert not t.requires_grad and t.dtype is fg.int64


def test_a_graph_reshape_with_two_unknown_sizes_says_so():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, None, 4))
        with pytest.raises(ShapeError, match=r"\(None, 1, None, 4\) has 2 sizes known only"):
            x.unsqueeze(1)
        assert tuple(x.reshape(-1, 4)._data.shape) == (None, 4)  # one unknown size: fine
