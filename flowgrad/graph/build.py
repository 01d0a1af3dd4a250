"""Building graphs: primitives applied to symbolic tensors, placeholders, constants.

:func:`bind_symbolic` is what :meth:`Primitive.bind` calls when an input holds a graph node:
the primitive's own shape rule gives the new node's shape and dtype (so a bad shape is an
error where the user wrote the operation, before anything runs), and the tape records the
operation as in eager mode, so the same gradient rules later build gradient nodes.
"""

from __future__ import annotations

import numpy as np

from flowgrad import dtypes
from flowgrad.autograd.mode import STATE
from flowgrad.autograd.node import Node as TapeNode
from flowgrad.errors import DTypeError, GraphError, ShapeError, at_user_site, user_site
from flowgrad.graph.ir import Graph, Node, get_default_graph
from flowgrad.ops.rules import UnknownShape
from flowgrad.tensor import Tensor


class _Aval:
    """A shape and dtype standing in for a value of unknown rank, for a shape rule."""

    def __init__(self, shape: tuple, dtype) -> None:
        self.shape, self.dtype = shape, np.dtype(dtype)
        self.ndim = len(shape)


class _UnknownRank:
    """What the tape records as the shape of an input of unknown rank."""

    def __init__(self, node: Node) -> None:
        self.shape = UnknownShape(node)


def is_symbolic(value) -> bool:
    """Whether ``value`` is a tensor that holds a graph node rather than an array."""
    return isinstance(value, Tensor) and type(value._data) is Node


def graph_of(*values) -> Graph | None:
    """The graph of the symbolic tensors among ``values`` (an error if they differ)."""
    graph = None
    for value in values:
        if isinstance(value, Tensor) and type(value._data) is Node:
            other = value._data.graph
            if graph is None:
                graph = other
            elif other is not graph:
                raise GraphError(at_user_site(
                    f"{value._data.name} belongs to another graph than the other inputs; "
                    f"build one computation in one graph"
                ))
    return graph


def bind_symbolic(prim, inputs: tuple, attrs: dict):
    """Add ``prim(*inputs, **attrs)`` to the inputs' graph; ``None`` if no input is symbolic."""
    graph = graph_of(*inputs)
    if graph is None:
        return None
    nodes = tuple(node_of(graph, t) for t in inputs)
    shape, dtype = _infer(prim, nodes, attrs)
    node = graph.add(prim.name, nodes, attrs, shape, dtype, prim=prim, site=user_site())
    result = Tensor._wrap(node)
    if prim.view:
        box = inputs[0]._vc
        result._vc = box if box is not None else inputs[0]._share_version()
    if STATE.grad_enabled and prim.vjp is not None and any(t._rg for t in inputs):
        result._rg = True
        carriers = [n if n.shape is not None else _UnknownRank(n) for n in nodes]
        result.grad_fn = TapeNode(prim, attrs, inputs, carriers, result)
    return result


def _infer(prim, nodes: tuple, attrs: dict):
    """The shape rule on nodes; with an input of unknown rank, the dtype alone (the rule run
    on stand-ins of rank 0) and an unknown shape."""
    if all(n.shape is not None for n in nodes):
        return prim.infer(*nodes, **attrs)
    try:  # a rule that needs no input's rank (sum_to a static shape) still knows the shape
        return prim.infer(*nodes, **attrs)
    except (TypeError, AttributeError):
        pass
    stand_ins = [n if n.shape is not None else _Aval((), n.dtype) for n in nodes]
    try:
        _, dtype = prim.infer(*stand_ins, **attrs)
    except (ShapeError, IndexError, ValueError):
        dtype = nodes[0].dtype
    return None, dtype


def node_of(graph: Graph, value) -> Node:
    """The node for an operation's input: its own, or one made for an eager value (a
    trainable leaf becomes a variable that shares its memory; anything else a constant)."""
    if isinstance(value, Tensor):
        data = value._data
        if type(data) is Node:
            return data
        if value._rg and value.grad_fn is None:
            from flowgrad.graph.variables import capture

            return capture(graph, value)._data
        return constant_node(graph, data)
    return constant_node(graph, np.asarray(value))


def constant_node(graph: Graph, array: np.ndarray, name: str | None = None) -> Node:
    """A constant holding a private copy of ``array`` (later changes to it do not leak in)."""
    array = np.array(array)
    array.flags.writeable = False
    return graph.add("constant", (), {"value": array}, array.shape, array.dtype,
                     name=name or "Const")


def constant(value, dtype=None, shape=None, name: str | None = None) -> Tensor:
    """A constant node in the default graph (TF-1's ``tf.constant``)."""
    array = np.asarray(value._data if isinstance(value, Tensor) else value)
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(dtype).np)
    elif array.dtype == np.float64 and not isinstance(value, np.ndarray):
        array = array.astype(dtypes.get_default_dtype().np)
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape))
    return Tensor._wrap(constant_node(get_default_graph(), array, name))


def placeholder(dtype=None, shape=None, name: str | None = None) -> Tensor:
    """A value fed at run time (``feed_dict``). ``None`` dims (or ``shape=None``, any rank)
    accept any size.

    >>> import flowgrad as fg
    >>> with fg.Graph().as_default():
    ...     x = fg.placeholder(fg.float32, shape=(None, 2), name="x")
    ...     with fg.Session() as sess:
    ...         sess.run(x * 10, feed_dict={x: [[1, 2]]})
    array([[10., 20.]], dtype=float32)
    """
    fg_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if shape is not None:
        shape = tuple(None if d is None or d == -1 else _dim(d) for d in shape)
    node = get_default_graph().add("placeholder", (), {}, shape, fg_dtype.np,
                                   name=name or "Placeholder", site=user_site())
    result = Tensor._wrap(node)
    result._rg = fg_dtype.np.kind == "f"  # any float value can be differentiated against
    return result


def _dim(d) -> int:
    if not isinstance(d, int | np.integer) or d < 0:
        raise ShapeError(at_user_site(
            f"placeholder: a dimension must be a non-negative int or None, got {d!r}"
        ))
    return int(d)


def full_like_node(like: Tensor, value, dtype=None) -> Tensor:
    """``full_like`` of a symbolic tensor: a node of its (run-time) shape."""
    from flowgrad.ops.elementwise import full_like

    np_dtype = like._data.dtype if dtype is None else dtypes.as_dtype(dtype).np
    return full_like.bind(like.detach(), value=value, dtype=np_dtype)


def check_feed_dtype(name: str, expected: np.dtype, given: np.dtype) -> None:
    """A fed array must convert to the placeholder's dtype without losing its kind."""
    if given == expected:
        return
    if given.kind in "OSUV" or not np.can_cast(given, expected, casting="same_kind"):
        raise DTypeError(at_user_site(
            f"feed for placeholder {name!r}: cannot convert {given} to the placeholder's "
            f"{expected} safely (expected {expected} or a type of the same kind)"
        ))
