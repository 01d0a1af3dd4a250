"""Property tests: broadcasting and reductions over random shapes, dims and keepdim."""

from __future__ import annotations

import operator

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import flowgrad as fg

FEW = settings(max_examples=40, deadline=None)

SEEDS = st.integers(0, 2**32 - 1)


def unbroadcast(array: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``array`` over the dimensions broadcasting added or stretched to reach it from
    ``shape``: the gradient of a broadcast input."""
    array = array.sum(axis=tuple(range(array.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=stretched, keepdims=True) if stretched else array


def value(t: fg.Tensor) -> np.ndarray:
    return np.asarray(t.detach())


def grads(out: fg.Tensor, inputs: list, upstream: np.ndarray) -> list[np.ndarray]:
    found = fg.autograd.grad(out, inputs, grad_outputs=fg.tensor(upstream), allow_unused=True)
    return [np.zeros(x.shape) if g is None else value(g) for g, x in zip(found, inputs,
                                                                          strict=True)]


# -- broadcasting -------------------------------------------------------------------------------

BINARY = {
    # name: (flowgrad op, NumPy op, local gradients (a, b, g) at the broadcast shape)
    "add": (operator.add, np.add, lambda a, b, g: (g, g)),
    "sub": (operator.sub, np.subtract, lambda a, b, g: (g, -g)),
    "mul": (operator.mul, np.multiply, lambda a, b, g: (g * b, g * a)),
    "div": (operator.truediv, np.divide, lambda a, b, g: (g / b, -g * a / (b * b))),
    "pow": (operator.pow, np.power, lambda a, b, g: (g * b * a ** (b - 1),
                                                      g * a ** b * np.log(a))),
    "maximum": (fg.maximum, np.maximum, lambda a, b, g: (g * (a > b), g * (b > a))),
    "minimum": (fg.minimum, np.minimum, lambda a, b, g: (g * (a < b), g * (b < a))),
}

TWO_SHAPES = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                               min_side=0, max_side=3)


@FEW
@given(shapes=TWO_SHAPES, name=st.sampled_from(sorted(BINARY)), seed=SEEDS)
def test_binary_broadcasting(shapes, name, seed):
    """Result shape is np.broadcast_shapes; each gradient has its input's shape and is the
    local gradient summed over the broadcast dimensions."""
    fg_op, np_op, local = BINARY[name]
    shape_a, shape_b = shapes.input_shapes
    result_shape = np.broadcast_shapes(shape_a, shape_b)
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shape_a)  # positive: pow's base and div's divisor
    b = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1.0, 1.0], shape_b)
    ta, tb = fg.tensor(a, requires_grad=True), fg.tensor(b, requires_grad=True)

    out = fg_op(ta, tb)
    assert out.shape == result_shape
    np.testing.assert_allclose(value(out), np_op(a, b), rtol=1e-12)

    g = rng.standard_normal(result_shape)
    ga, gb = grads(out, [ta, tb], g)
    assert ga.shape == shape_a and gb.shape == shape_b
    da, db = local(np.broadcast_to(a, result_shape), np.broadcast_to(b, result_shape), g)
    np.testing.assert_allclose(ga, unbroadcast(da, shape_a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, unbroadcast(db, shape_b), rtol=1e-10, atol=1e-12)


@FEW
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4,
                                                min_side=0, max_side=3), seed=SEEDS)
def test_where_broadcasting(shapes, seed):
    shape_c, shape_a, shape_b = shapes.input_shapes
    result_shape = np.broadcast_shapes(*shapes.input_shapes)
    rng = np.random.default_rng(seed)
    c = rng.random(shape_c) < 0.5
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    ta, tb = fg.tensor(a, requires_grad=True), fg.tensor(b, requires_grad=True)

    out = fg.where(fg.tensor(c), ta, tb)
    assert out.shape == result_shape
    np.testing.assert_array_equal(value(out), np.where(c, a, b))

    g = rng.standard_normal(result_shape)
    ga, gb = grads(out, [ta, tb], g)
    np.testing.assert_allclose(ga, unbroadcast(np.where(c, g, 0.0), shape_a), atol=1e-12)
    np.testing.assert_allclose(gb, unbroadcast(np.where(c, 0.0, g), shape_b), atol=1e-12)


@FEW
@given(shapes=TWO_SHAPES, seed=SEEDS)
def test_expand_gradient_sums_over_broadcast_dims(shapes, seed):
    shape, other = shapes.input_shapes
    target = np.broadcast_shapes(shape, other)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    tx = fg.tensor(x, requires_grad=True)

    out = tx.expand(target)
    np.testing.assert_array_equal(value(out), np.broadcast_to(x, target))
    g = rng.standard_normal(target)
    (gx,) = grads(out, [tx], g)
    assert gx.shape == shape
    np.testing.assert_allclose(gx, unbroadcast(g, shape), atol=1e-12)


# -- reductions ---------------------------------------------------------------------------------


@st.composite
def reductions(draw, min_side: int = 0):
    """(shape, dim, keepdim): dim is None, an int or a tuple, each axis maybe negative."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=min_side, max_side=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["all", "int", "tuple"])) if ndim else "all"
    if kind == "all":
        dim = None
    elif kind == "int":
        axis = draw(st.integers(0, ndim - 1))
        dim = axis - ndim if draw(st.booleans()) else axis
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return shape, dim, draw(st.booleans())


def reduced_axes(shape: tuple, dim) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(len(shape)))
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(sorted(d % len(shape) for d in dims))


def count(shape: tuple, dim) -> int:
    return int(np.prod([shape[a] for a in reduced_axes(shape, dim)]))


def distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values 0.1 apart in random order: no ties for max and min."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 - size * 0.05).reshape(shape)


def keepdim_shape(shape: tuple, dim) -> tuple:
    axes = reduced_axes(shape, dim)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def np_logsumexp(x, axis, keepdims):
    shift = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


NUMPY_REDUCTIONS = {
    # name: (NumPy reference, the reduced dims must be non-empty / hold more than one value)
    "sum": (np.sum, 0),
    "prod": (np.prod, 0),
    "mean": (np.mean, 1),
    "amax": (np.amax, 1),
    "amin": (np.amin, 1),
    "logsumexp": (np_logsumexp, 1),
    "var": (lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1), 2),
}


@FEW
@given(args=reductions(), name=st.sampled_from(sorted(NUMPY_REDUCTIONS)), seed=SEEDS)
def test_reduction_matches_numpy(args, name, seed):
    shape, dim, keepdim = args
    reference, least = NUMPY_REDUCTIONS[name]
    assume(count(shape, dim) >= least)
    x = distinct(np.random.default_rng(seed), shape)
    out = getattr(fg.tensor(x), name)(dim=dim, keepdim=keepdim)
    expected = reference(x, axis=reduced_axes(shape, dim), keepdims=keepdim)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(value(out), expected, rtol=1e-10, atol=1e-12)


@FEW
@given(args=reductions(), name=st.sampled_from(["all", "any", "count_nonzero"]), seed=SEEDS)
def test_boolean_reductions_match_numpy(args, name, seed):
    shape, dim, keepdim = args
    x = np.random.default_rng(seed).random(shape) < 0.7
    if name == "count_nonzero":
        out = fg.tensor(x).count_nonzero(dim)
        expected = np.count_nonzero(x, axis=reduced_axes(shape, dim))
    else:
        out = getattr(fg.tensor(x), name)(dim=dim, keepdim=keepdim)
        expected = getattr(np, name)(x, axis=reduced_axes(shape, dim), keepdims=keepdim)
    assert out.shape == np.shape(expected)
    np.testing.assert_array_equal(value(out), expected)


@FEW
@given(args=reductions(min_side=1), name=st.sampled_from(["argmax", "argmin"]), seed=SEEDS)
def test_arg_reductions_match_numpy(args, name, seed):
    shape, dim, keepdim = args
    if isinstance(dim, tuple):
        dim = dim[0]  # argmax takes one dim
    x = distinct(np.random.default_rng(seed), shape)
    out = getattr(fg.tensor(x), name)(dim=dim, keepdim=keepdim)
    axis = None if dim is None or not shape else dim
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdim)
    assert out.shape == np.shape(expected) and out.dtype == fg.int64
    np.testing.assert_array_equal(value(out), expected)


def _reduce_with_grad(name, shape, dim, keepdim, seed):
    """x, the reduction's value, the upstream gradient (keepdim shape) and x's gradient."""
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape)
    tx = fg.tensor(x, requires_grad=True)
    out = getattr(tx, name)(dim=dim, keepdim=keepdim)
    g = rng.standard_normal(out.shape)
    (gx,) = grads(out, [tx], g)
    assert gx.shape == shape
    kept = keepdim_shape(shape, dim)
    return x, value(out).reshape(kept), g.reshape(kept), gx


@FEW
@given(args=reductions(), seed=SEEDS)
def test_sum_gradient_is_upstream_broadcast(args, seed):
    shape, dim, keepdim = args
    _, _, g, gx = _reduce_with_grad("sum", shape, dim, keepdim, seed)
    np.testing.assert_array_equal(gx, np.broadcast_to(g, shape))


@FEW
@given(args=reductions(min_side=1), seed=SEEDS)
def test_mean_gradient_times_count_is_upstream(args, seed):
    shape, dim, keepdim = args
    _, _, g, gx = _reduce_with_grad("mean", shape, dim, keepdim, seed)
    np.testing.assert_allclose(gx * count(shape, dim), np.broadcast_to(g, shape), rtol=1e-12)


@FEW
@given(args=reductions(min_side=1), name=st.sampled_from(["amax", "amin", "logsumexp"]),
       seed=SEEDS)
def test_gradient_sums_to_upstream_over_reduced_dims(args, name, seed):
    """amax/amin send the whole upstream gradient to the extremum; logsumexp spreads it as
    softmax weights, which also sum to one."""
    shape, dim, keepdim = args
    x, out, g, gx = _reduce_with_grad(name, shape, dim, keepdim, seed)
    axes = reduced_axes(shape, dim)
    np.testing.assert_allclose(gx.sum(axis=axes, keepdims=True), g, rtol=1e-10, atol=1e-12)
    if name == "logsumexp":
        np.testing.assert_allclose(gx, np.exp(x - out) * g, rtol=1e-10, atol=1e-12)
    else:
        assert np.all(gx[x != out] == 0)


@FEW
@given(args=reductions(min_side=2), seed=SEEDS)
def test_var_gradient_sums_to_zero(args, seed):
    """var is shift-invariant, so its gradient sums to zero over the reduced dims."""
    shape, dim, keepdim = args
    assume(count(shape, dim) >= 2)  # a 0-d tensor has one value: its variance divides by 0
    _, _, _, gx = _reduce_with_grad("var", shape, dim, keepdim, seed)
    np.testing.assert_allclose(gx.sum(axis=reduced_axes(shape, dim)), 0.0, atol=1e-10)


@FEW
@given(args=reductions(min_side=1), seed=SEEDS)
def test_prod_gradient_times_input_is_product(args, seed):
    """prod is linear in each input: x_i * d prod / d x_i = prod (where x_i != 0)."""
    shape, dim, keepdim = args
    x, out, g, gx = _reduce_with_grad("prod", shape, dim, keepdim, seed)
    nonzero = x != 0
    np.testing.assert_allclose((x * gx)[nonzero], np.broadcast_to(out * g, shape)[nonzero],
                               rtol=1e-9, atol=1e-12)
