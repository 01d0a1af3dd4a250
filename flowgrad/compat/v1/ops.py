"""TensorFlow-1 math, reduction and creation ops, as thin wrappers over flowgrad's.

Each takes TF-1's arguments (``axis``, ``keepdims``, ``name``) and calls the one flowgrad
operation, so gradients, shape rules and errors are flowgrad's own. Inputs that are not
tensors (NumPy arrays, lists) become constants of the graph, as in TF-1. ``name`` becomes a
name scope: the nodes an op adds are named ``name/...``.
"""

from __future__ import annotations

import contextlib

import numpy as np

import flowgrad as fg
from flowgrad import dtypes
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.graph.build import graph_of
from flowgrad.tensor import Tensor


def as_tensor(value) -> Tensor:
    """An op's input: a tensor as it is, anything else a constant of the default graph."""
    return value if isinstance(value, Tensor) else fg.constant(value)


def operands(x, y) -> tuple:
    """Two operands of an elementwise op: arrays and lists become constants; a Python number
    next to a tensor stays a number (so it takes the tensor's dtype, as in TF-1)."""
    x = x if isinstance(x, Tensor) or _is_number(x) else as_tensor(x)
    y = y if isinstance(y, Tensor) or _is_number(y) else as_tensor(y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):  # two numbers
        x = as_tensor(x)
    return x, y


def _is_number(value) -> bool:
    return isinstance(value, int | float | bool | np.number)


def scope(name: str | None, *inputs):
    """``name`` as a name scope of the inputs' graph (nothing when ``name`` is None)."""
    if name is None:
        return contextlib.nullcontext()
    graph = graph_of(*inputs) or fg.get_default_graph()
    return graph.name_scope(name)


def require_rank(op: str, tensor: Tensor, why: str) -> int:
    """The rank of ``tensor``; a ShapeError naming the fix when the graph does not know it."""
    ndim = tensor._data.ndim
    if ndim is None:
        name = getattr(tensor._data, "name", "the input")
        raise ShapeError(at_user_site(
            f"{op}: {why} needs the rank of {name!r}, which is unknown; give the placeholder "
            f"a shape, e.g. tf.placeholder(tf.float32, shape=(None, 10))"
        ))
    return ndim


def _axis(op: str, tensor: Tensor, axis):
    """TF-1's ``axis`` (None, an int or a list of ints) as flowgrad's ``dim``."""
    if axis is None:
        return None
    require_rank(op, tensor, f"axis={axis!r}")
    return tuple(int(a) for a in axis) if isinstance(axis, list | tuple) else int(axis)


# -- reductions -------------------------------------------------------------------------------


def reduce_mean(input_tensor, axis=None, keepdims: bool = False, name: str | None = None
                ) -> Tensor:
    """The mean over ``axis`` (all axes when None), as ``tf.reduce_mean``.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.constant([[1.0, 2.0], [3.0, 6.0]])
    ...     with tf.Session() as sess:
    ...         sess.run(tf.reduce_mean(x, axis=1))
    array([1.5, 4.5], dtype=float32)
    """
    x = as_tensor(input_tensor)
    with scope(name, x):
        return x.mean(dim=_axis("reduce_mean", x, axis), keepdim=keepdims)


def reduce_sum(input_tensor, axis=None, keepdims: bool = False, name: str | None = None
               ) -> Tensor:
    """The sum over ``axis`` (all axes when None), as ``tf.reduce_sum``."""
    x = as_tensor(input_tensor)
    with scope(name, x):
        return x.sum(dim=_axis("reduce_sum", x, axis), keepdim=keepdims)


def reduce_max(input_tensor, axis=None, keepdims: bool = False, name: str | None = None
               ) -> Tensor:
    """The maximum over ``axis`` (all axes when None), as ``tf.reduce_max``."""
    x = as_tensor(input_tensor)
    with scope(name, x):
        return x.amax(dim=_axis("reduce_max", x, axis), keepdim=keepdims)


# -- elementwise and matmul -------------------------------------------------------------------


def square(x, name: str | None = None) -> Tensor:
    """``x * x``, as ``tf.square``."""
    x = as_tensor(x)
    with scope(name, x):
        return x * x


def add(x, y, name: str | None = None) -> Tensor:
    """``x + y`` with broadcasting, as ``tf.add``."""
    x, y = operands(x, y)
    with scope(name, x, y):
        return x + y


def multiply(x, y, name: str | None = None) -> Tensor:
    """``x * y`` with broadcasting, as ``tf.multiply``."""
    x, y = operands(x, y)
    with scope(name, x, y):
        return x * y


def exp(x, name: str | None = None) -> Tensor:
    """``e ** x``, as ``tf.exp``."""
    x = as_tensor(x)
    with scope(name, x):
        return fg.exp(x)


def log(x, name: str | None = None) -> Tensor:
    """The natural logarithm, as ``tf.log``."""
    x = as_tensor(x)
    with scope(name, x):
        return fg.log(x)


def sigmoid(x, name: str | None = None) -> Tensor:
    """``1 / (1 + exp(-x))``, as ``tf.sigmoid``."""
    x = as_tensor(x)
    with scope(name, x):
        return fg.sigmoid(x)


def tanh(x, name: str | None = None) -> Tensor:
    """The hyperbolic tangent, as ``tf.tanh``."""
    x = as_tensor(x)
    with scope(name, x):
        return fg.tanh(x)


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Tensor:
    """The matrix product (batched over leading dims), as ``tf.matmul``; ``transpose_a`` /
    ``transpose_b`` swap the last two dimensions of that operand first.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     a = tf.constant([[1.0, 2.0]])
    ...     with tf.Session() as sess:
    ...         sess.run(tf.matmul(a, a, transpose_a=True))
    array([[1., 2.],
           [2., 4.]], dtype=float32)
    """
    a, b = as_tensor(a), as_tensor(b)
    with scope(name, a, b):
        if transpose_a:
            require_rank("matmul", a, "transpose_a")
            a = a.transpose(-2, -1)
        if transpose_b:
            require_rank("matmul", b, "transpose_b")
            b = b.transpose(-2, -1)
        return fg.matmul(a, b)


# -- creation ---------------------------------------------------------------------------------


def _shape(op: str, shape) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    if not all(isinstance(d, int | np.integer) and d >= 0 for d in dims):
        raise ShapeError(at_user_site(
            f"{op}: shape must be non-negative ints, got {shape!r}"
        ))
    return tuple(int(d) for d in dims)


def zeros(shape, dtype=fg.float32, name: str | None = None) -> Tensor:
    """A constant of zeros, as ``tf.zeros``."""
    array = np.zeros(_shape("zeros", shape), dtypes.as_dtype(dtype).np)
    return fg.constant(array, name=name or "zeros")


def ones(shape, dtype=fg.float32, name: str | None = None) -> Tensor:
    """A constant of ones, as ``tf.ones``."""
    array = np.ones(_shape("ones", shape), dtypes.as_dtype(dtype).np)
    return fg.constant(array, name=name or "ones")


def random_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=fg.float32,
                  seed: int | None = None, name: str | None = None) -> Tensor:
    """Normal samples, as ``tf.random_normal``, drawn once when the graph is built.

    TF-1 draws new samples at every run; here the samples are drawn from flowgrad's generator
    (``fg.manual_seed``) when this is called and held as a constant. As a variable's initial
    value (what ``tf.random_normal`` is almost always used for) that is the same thing: the
    initialiser runs once. ``seed`` draws from a generator of its own, so the same seed gives
    the same samples (flowgrad's, not TensorFlow's).

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(tf.random_normal([2, 3], stddev=0.1, seed=1))
    ...     w.shape, w.dtype
    ((2, 3), flowgrad.float32)
    """
    generator = fg.Generator().manual_seed(seed) if seed is not None else None
    fg_dtype = dtypes.as_dtype(dtype)
    if not fg_dtype.is_floating_point:
        raise DTypeError(at_user_site(
            f"random_normal: dtype must be floating point, got {fg_dtype}"
        ))
    samples = fg.normal(float(mean), float(stddev), _shape("random_normal", shape),
                        generator=generator, dtype=fg_dtype)
    return fg.constant(samples, name=name or "random_normal")
