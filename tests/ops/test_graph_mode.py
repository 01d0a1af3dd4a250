"""The op table in graph mode: every case built on placeholders and run by a ``Session`` gives
what eager mode gives (shapes, dtypes, values and gradients), with every input shape known, and
again with the leading (batch) dimension of the first input unknown (``None``).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from optest import Case, as_list, differentiable, first_order, float_outputs, tolerances
from test_op_table import CASES

import flowgrad as fg

# Cases that need the first input's leading size when the graph is built: it decides the
# rank of the result or the number of results, so a placeholder with that size None cannot
# stand in for the input.
NEEDS_STATIC_BATCH = {
    # squeeze() drops the dims of size 1; whether an unknown one is 1 decides the result's
    # rank (the graph keeps it; a named dim, squeeze(0), is removed and checked at run time).
    "squeeze",
    # chunk's number of pieces depends on the size it splits.
    "chunk-uneven",
    # An empty batch at run time: the maximum that shifts the sum has no identity, and the
    # graph cannot know when it is built that the reduced dims will be empty.
    "logsumexp-empty-keepdim",
}

# A boolean mask selects as many elements as it has True values: the size is data-dependent,
# so the static shape has None there even when every input shape is known.
MASKED = {"x[mask]", "x[row mask]", "x[:, mask]", "x[x > 0]", "x[all-false mask]"}

DYNAMIC_CASES = [c for c in CASES if c.inputs and c.inputs[0].ndim >= 1
                 and c.name not in NEEDS_STATIC_BATCH]


def marked(cases: list[Case]) -> list:
    """The cases as parameters, named."""
    return [pytest.param(c, id=c.name) for c in cases]


def placeholders(case: Case, batch_unknown: bool) -> list:
    """One named placeholder per input array: its dtype and shape (the first input's leading
    dimension ``None`` when ``batch_unknown``)."""
    made = []
    for i, array in enumerate(case.inputs):
        shape = array.shape
        if batch_unknown and i == 0:
            shape = (None, *shape[1:])
        made.append(fg.placeholder(fg.dtypes.from_numpy_dtype(array.dtype), shape=shape,
                                   name=f"input{i}"))
    return made


def check_static(out, expected: np.ndarray, what: str, exact: bool) -> None:
    """The symbolic output's static shape and dtype, from the shape rules alone."""
    assert fg.graph.is_symbolic(out), f"{what}: not a symbolic tensor"
    shape = out._data.shape
    assert out._data.dtype == expected.dtype, (
        f"{what}: static dtype {out._data.dtype}, eager {expected.dtype}"
    )
    if exact:
        assert shape == expected.shape and None not in shape, (
            f"{what}: static shape {shape}, eager {expected.shape}"
        )
        return
    assert shape is not None and len(shape) == expected.ndim and all(
        d is None or d == e for d, e in zip(shape, expected.shape, strict=True)), (
        f"{what}: static shape {shape} does not fit eager {expected.shape}"
    )


def assert_same(actual: np.ndarray, expected: np.ndarray, what: str, **tol) -> None:
    """Same shape and dtype, values equal (exactly for integers and booleans)."""
    assert isinstance(actual, np.ndarray), f"{what}: got {type(actual).__name__}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, eager {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, eager {expected.shape}"
    if expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    np.testing.assert_allclose(actual, expected, err_msg=what,
                               **(tol or tolerances(expected.dtype)), equal_nan=True)


def check_graph_mode(case: Case, batch_unknown: bool) -> None:
    arrays = list(case.inputs)
    _, eager_outs, vs, eager_grads = first_order(case, arrays)
    eager_outs = [o._data for o in eager_outs]
    with fg.Graph().as_default():
        inputs = placeholders(case, batch_unknown)
        outs = as_list(case.fn(fg, *inputs))
        assert len(outs) == len(eager_outs), (
            f"{case.name}: {len(outs)} outputs, eager gives {len(eager_outs)}"
        )
        for k, (out, expected) in enumerate(zip(outs, eager_outs, strict=True)):
            check_static(out, expected, f"{case.name}: output {k}",
                         exact=not batch_unknown and case.name not in MASKED)
        wrt = [inputs[i] for i in differentiable(case)]
        grads = []
        if eager_grads:
            picked = [outs[k] for k in float_outputs(outs)]
            grads = fg.gradients(picked, wrt, grad_ys=[fg.constant(v) for v in vs])
        fetched = [g for g in grads if g is not None]
        with fg.Session() as sess:
            results = sess.run([*outs, *fetched], dict(zip(inputs, arrays, strict=True)))
    for k, (got, expected) in enumerate(zip(results[:len(outs)], eager_outs, strict=True)):
        assert_same(got, expected, f"{case.name}: output {k}")
    graph_grads = iter(results[len(outs):])
    for i, graph_grad, eager_grad in zip(differentiable(case), grads, eager_grads, strict=True):
        what = f"{case.name}: gradient of input {i}"
        array = arrays[i]
        got = np.zeros_like(array) if graph_grad is None else next(graph_grads)
        expected = np.zeros_like(array) if eager_grad is None else eager_grad._data
        assert_same(got, expected, what, rtol=case.rtol, atol=case.atol)


def quiet(case: Case):
    return np.errstate(all="ignore") if case.quiet else contextlib.nullcontext()


@pytest.mark.parametrize("case", marked(CASES))
def test_graph_mode_equals_eager(case: Case) -> None:
    """Every input shape known: the static shapes are exact."""
    with quiet(case):
        check_graph_mode(case, batch_unknown=False)


@pytest.mark.parametrize("case", marked(DYNAMIC_CASES))
def test_graph_mode_unknown_batch_equals_eager(case: Case) -> None:
    """The first input's leading dimension is ``None``: the graph takes it at run time."""
    with quiet(case):
        check_graph_mode(case, batch_unknown=True)



CREATIONS = {
    # name: (fn(lib, x), value the result is filled with, its dtype)
    "zeros_like": (lambda m, x: m.zeros_like(x), 0, np.float32),
    "ones_like-int64": (lambda m, x: m.ones_like(x, dtype=m.int64), 1, np.int64),
    "full_like": (lambda m, x: m.full_like(x, 2.5), 2.5, np.float32),
    "zeros(x.shape)": (lambda m, x: m.zeros(x.shape, dtype=m.float64), 0, np.float64),
    "ones(x.shape)": (lambda m, x: m.ones(x.shape), 1, np.float32),
    "full(x.shape)": (lambda m, x: m.full(x.shape, 7), 7, np.int64),
    "x.new_zeros(x.shape)": (lambda m, x: x.new_zeros(x.shape), 0, np.float32),
}
# Made from a shape: with every size known that is an array (a constant in the graph).
FROM_SHAPE = {"zeros(x.shape)", "ones(x.shape)", "full(x.shape)", "x.new_zeros(x.shape)"}


@pytest.mark.parametrize(("name", "shape"), [
    pytest.param(name, shape, id=f"{name}-{'static' if None not in shape else 'batch-unknown'}")
    for name in CREATIONS for shape in [(3, 2), (None, 2)]
])
def test_creation_from_a_graph_value_builds_a_node(name: str, shape: tuple) -> None:
    """A tensor made like a graph value, or from its shape with an unknown size, is a node
    made when the graph runs: it has the size of the batch fed."""
    fn, value, dtype = CREATIONS[name]
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=shape, name="x")
        made = fn(fg, x)
        if name in FROM_SHAPE and None not in shape:
            assert not fg.graph.is_symbolic(made)
            got = made.numpy()
        else:
            assert fg.graph.is_symbolic(made), "an array fixed when the graph was built"
            assert made._data.shape == shape and made._data.dtype == dtype
            with fg.Session() as sess:
                got = sess.run(made, {x: np.ones((3, 2), np.float32)})
    np.testing.assert_array_equal(got, np.full((3, 2), value, dtype=dtype))
    assert got.dtype == dtype


def test_empty_like_of_a_graph_value_has_its_run_time_shape() -> None:
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 2), name="x")
        made = fg.empty_like(x)
        with fg.Session() as sess:
            assert sess.run(made, {x: np.ones((5, 2), np.float32)}).shape == (5, 2)


@pytest.mark.parametrize("operation", [
    lambda x: x.nonzero(),
    lambda x: x.__setitem__(0, 1.0),
    lambda x: fg.zeros(3, 2).__setitem__(0, x[0]),
], ids=["nonzero", "setitem", "setitem-symbolic-value"])
def test_data_dependent_and_partial_assignment_are_refused(operation) -> None:
    """What a graph cannot express yet fails when it is built, with the way out named."""
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 2), name="x")
        with pytest.raises(fg.errors.GraphError, match=r"graph.*(fg\.where|x != 0)"):
            operation(x)


@pytest.mark.parametrize(("method", "reference"), [("isfinite", np.isfinite),
                                                   ("isnan", np.isnan), ("isinf", np.isinf)])
def test_float_predicates_build_nodes(method: str, reference) -> None:
    data = np.array([[1.0, np.inf], [np.nan, -np.inf]], np.float32)
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 2), name="x")
        flags = getattr(x, method)()
        assert flags.dtype == fg.bool and flags.shape == (None, 2)
        with fg.Session() as sess:
            np.testing.assert_array_equal(sess.run(flags, {x: data}), reference(data))
    np.testing.assert_array_equal(getattr(fg.tensor(data), method)().numpy(), reference(data))
