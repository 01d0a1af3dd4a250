"""The graph IR: nodes, names, scopes, default graphs, static shapes, symbolic tensors."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import GraphError, ShapeError, TracingError
from flowgrad.graph.ir import Node


def test_names_are_unique_and_scoped():
    with fg.Graph().as_default() as g:
        a = fg.placeholder(fg.float32, shape=(2,), name="a")
        with fg.name_scope("layer"):
            b = a + 1.0
            with fg.name_scope("inner"):
                c = b * 2.0
        d = a + 1.0
    assert [a._data.name, b._data.name, c._data.name, d._data.name] == [
        "a", "layer/add", "layer/inner/mul", "add"]
    assert len({n.name for n in g.nodes}) == len(g.nodes)
    assert g.node("layer/inner/mul") is c._data
    with pytest.raises(KeyError, match="no node named 'missing'"):
        g.node("missing")
    with g.as_default():
        again = fg.placeholder(fg.float32, name="a")
    assert again._data.name == "a_1"


def test_default_graph_nests_and_resets():
    outer, inner = fg.Graph(), fg.Graph()
    with outer.as_default():
        assert fg.get_default_graph() is outer
        with inner.as_default():
            assert fg.get_default_graph() is inner
            with pytest.raises(GraphError, match="reset_default_graph"):
                fg.reset_default_graph()
        assert fg.get_default_graph() is outer
    before = fg.get_default_graph()
    fg.reset_default_graph()
    assert fg.get_default_graph() is not before


def test_static_shapes_come_from_the_shape_rules():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        w = fg.constant(np.ones((3, 4), np.float32))
        y = fg.matmul(x, w)
        s = y.sum(dim=0)
        r = y.reshape(-1)
    assert y.shape == (None, 4) and y.dtype == fg.float32
    assert s.shape == (4,) and r.shape == (None,)


def test_a_bad_shape_is_an_error_where_the_user_built_it():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        w = fg.constant(np.ones((5, 4), np.float32))
        with pytest.raises(ShapeError, match=r"matmul.*\(None, 3\).*\(5, 4\).*test_ir.py:\d+"):
            fg.matmul(x, w)


def test_operations_on_two_graphs_are_an_error():
    with fg.Graph().as_default():
        a = fg.placeholder(fg.float32, shape=(2,), name="a")
    with fg.Graph().as_default():
        b = fg.placeholder(fg.float32, shape=(2,), name="b")
    with pytest.raises(GraphError, match="another graph"):
        a + b


def test_verify_finds_a_node_before_its_input():
    g = fg.Graph()
    with g.as_default():
        x = fg.placeholder(fg.float32, shape=(2,), name="x")
        y = x * 2.0
    g.verify()
    g.nodes.reverse()
    with pytest.raises(GraphError, match=r"mul.*reads"):
        g.verify()
    assert isinstance(y._data, Node)


def test_printing_a_graph_lists_every_node():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(None, 2), name="x")
        fg.exp(x)
    assert str(g).splitlines() == ["x = placeholder() : (?, 2) float32",
                                   "exp = exp(x) : (?, 2) float32"]


@pytest.mark.parametrize("use", [bool, float, int, lambda t: t.item(), lambda t: t.numpy(),
                                 lambda t: t.tolist(), np.asarray])
def test_a_symbolic_tensor_has_no_value_yet(use):
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(), name="x")
        with pytest.raises(TracingError, match=r"'x' is a symbolic tensor.*fg\.where"):
            use(x)


def test_symbolic_repr_names_node_shape_and_dtype():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
    assert repr(x) == "<symbolic tensor 'x' op=placeholder shape=(?, 3) dtype=flowgrad.float32>"


def test_placeholder_rejects_bad_dims():
    with fg.Graph().as_default(), pytest.raises(ShapeError, match=r"placeholder.*'a'"):
        fg.placeholder(fg.float32, shape=(2, "a"))


def test_numpy_refuses_a_node_so_kernels_never_compute_on_one():
    with fg.Graph().as_default():
        node = fg.placeholder(fg.float32, shape=(2,), name="x")._data
    for attempt in (lambda: np.add(node, 1.0), lambda: np.asarray(node),
                    lambda: np.full_like(node, 1.0), lambda: np.broadcast_to(node, (2, 2))):
        with pytest.raises(TypeError, match=r"x is a graph node, not an array|does not support"):
            attempt()
