"""``Session``: owns the values of a graph's variables and runs its fetches.

``run(fetches, feed_dict)`` checks the feeds, finds (or builds, once) the plan for these
fetches and fed placeholders (the passes, then generated code; see :mod:`.plan`), checks that
the variables it reads are initialised, and runs it. Every check happens before anything
runs, and assignments are committed only after the last kernel, so a failed run changes no
variable.
"""

from __future__ import annotations

import threading

import numpy as np

from flowgrad.errors import GraphError, ShapeError, at_user_site
from flowgrad.graph.build import check_feed_dtype
from flowgrad.graph.ir import Graph, Node, format_shape, get_default_graph
from flowgrad.graph.plan import Plan
from flowgrad.tensor import Tensor


class _Sessions(threading.local):
    def __init__(self) -> None:
        self.stack: list[Session] = []


_SESSIONS = _Sessions()


def get_default_session() -> Session | None:
    """The innermost session of a ``with Session():`` block in this thread."""
    return _SESSIONS.stack[-1] if _SESSIONS.stack else None


class Session:
    """Runs a graph (the default graph unless given); variable values live here.

    >>> import flowgrad as fg
    >>> with fg.Graph().as_default():
    ...     a = fg.placeholder(fg.float32, shape=(2,), name="a")
    ...     total = a.sum()
    ...     with fg.Session() as sess:
    ...         sess.run({"a": a, "sum": total}, feed_dict={a: [1.0, 2.5]})
    {'a': array([1. , 2.5], dtype=float32), 'sum': array(3.5, dtype=float32)}
    """

    def __init__(self, graph: Graph | None = None, *, disable_passes=()) -> None:
        self.graph = graph if graph is not None else get_default_graph()
        self.values: dict[str, np.ndarray] = {}
        self.disable_passes = tuple(disable_passes)
        self._plans: dict[tuple, Plan] = {}
        self._feed_keys: dict[tuple, tuple] = {}  # ids of feed keys -> (keys, their nodes)
        self._closed = False

    def __enter__(self) -> Session:
        _SESSIONS.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        if _SESSIONS.stack and _SESSIONS.stack[-1] is self:
            _SESSIONS.stack.pop()
        self.close()

    def as_default(self):
        """``with sess.as_default():`` makes ``tensor.eval()`` use this session."""
        return _DefaultSession(self)

    def close(self) -> None:
        """Free the variable values and plans; the session cannot run any more."""
        self.values.clear()
        self._plans.clear()
        self._feed_keys.clear()
        self._closed = True

    # -- running ----------------------------------------------------------------------------

    def run(self, fetches, feed_dict=None):
        """Compute ``fetches`` (a tensor, an op, or nested lists/tuples/dicts of them) with
        ``feed_dict`` (placeholder -> value); the same structure of NumPy arrays (None for
        ops)."""
        if self._closed:
            raise GraphError("Session.run: this session is closed")
        if isinstance(fetches, Tensor):  # the common case, without flattening
            structure = None
            nodes = (self._fetch_node(fetches),)
        else:
            structure, leaves = _flatten(fetches, [])
            nodes = tuple(self._fetch_node(leaf) for leaf in leaves)
        feed_nodes, feed_values = self._feeds(feed_dict)
        plan = self._plans.get((nodes, feed_nodes)) or self._plan_for(nodes, feed_nodes)
        if not plan.reads <= self.values.keys():
            missing = sorted(plan.reads - self.values.keys())
            raise GraphError(at_user_site(
                f"Session.run: attempting to use uninitialised variable(s) "
                f"{', '.join(missing)}; run fg.global_variables_initializer() first"
            ))
        outputs = plan(feed_values, self.values)
        if structure is None:
            return outputs[0]
        return _unflatten(structure, iter(outputs))

    def plan(self, fetches, feed_dict=None) -> Plan:
        """The plan that ``run(fetches, feed_dict)`` uses (``plan.source`` is its code)."""
        leaves = [fetches] if isinstance(fetches, Tensor) else _flatten(fetches, [])[1]
        nodes = tuple(self._fetch_node(leaf) for leaf in leaves)
        return self._plan_for(nodes, self._feeds(feed_dict)[0])

    def _plan_for(self, nodes: tuple, feed_nodes: tuple) -> Plan:
        key = (nodes, feed_nodes)
        plan = self._plans.get(key)
        if plan is None:
            from flowgrad.graph.passes import optimize

            optimized = optimize(self.graph, list(nodes), self.disable_passes)
            plan = Plan(optimized, list(feed_nodes))
            self._plans[key] = plan
        return plan

    def _fetch_node(self, leaf) -> Node:
        if isinstance(leaf, Tensor):
            node = leaf._data
            if type(node) is not Node:
                raise TypeError(at_user_site(
                    f"Session.run: fetched an eager tensor (shape {tuple(leaf.shape)}); "
                    f"fetches must be symbolic tensors or ops of the session's graph"
                ))
            if node.graph is not self.graph:
                raise GraphError(at_user_site(
                    f"Session.run: the fetch {node.name!r} belongs to another graph than "
                    f"this session's"
                ))
            return node
        from flowgrad.optim.optimizer import Optimizer

        if isinstance(leaf, Optimizer):
            raise TypeError(at_user_site(
                f"Session.run: fetched the optimizer object {type(leaf).__name__}; run the "
                f"train op instead: train = optimizer.minimize(loss); sess.run(train, ...)"
            ))
        raise TypeError(at_user_site(
            f"Session.run: cannot fetch a {type(leaf).__name__}; fetches are tensors or ops, "
            f"or lists/tuples/dicts of them"
        ))

    def _feeds(self, feed_dict) -> tuple[tuple, list]:
        if not feed_dict:
            return (), []
        # Keys seen before map to their nodes by identity (tensors compare elementwise, so not
        # by ==); the cache holds the keys, so their ids stay theirs.
        ids = tuple(map(id, feed_dict))
        entry = self._feed_keys.get(ids)
        if entry is None:
            keys = tuple(feed_dict)
            entry = self._feed_keys[ids] = (keys, self._check_feed_keys(keys))
        nodes = entry[1]
        values = []
        for node, value in zip(nodes, feed_dict.values(), strict=True):
            # Inline, the common case: an array of the placeholder's exact type and shape.
            if (type(value) is np.ndarray and value.dtype is node.dtype
                    and value.shape == node.shape):
                values.append(value)
            else:
                values.append(_feed_value(node, value))
        return nodes, values

    def _check_feed_keys(self, keys: tuple) -> tuple:
        nodes = []
        for key in keys:
            node = key._data if isinstance(key, Tensor) else None
            if type(node) is not Node or node.op != "placeholder":
                what = (f"{node.op} node {node.name!r}" if type(node) is Node
                        else f"a {type(key).__name__}")
                raise TypeError(at_user_site(
                    f"Session.run: feed_dict keys must be placeholders; got {what}"
                ))
            if node.graph is not self.graph:
                raise GraphError(at_user_site(
                    f"Session.run: the placeholder {node.name!r} belongs to another graph"
                ))
            nodes.append(node)
        return tuple(nodes)


def _feed_value(node: Node, value) -> np.ndarray:
    """A fed value checked against its placeholder (``_feeds`` passes exact arrays by)."""
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    if type(array) is not np.ndarray:
        raise TypeError(at_user_site(f"feed for {node.name!r}: a symbolic tensor cannot be fed"))
    if array.dtype != node.dtype:
        check_feed_dtype(node.name, node.dtype, array.dtype)
        array = array.astype(node.dtype)
    shape = node.shape
    if shape is not None and (len(shape) != array.ndim or any(
            d is not None and d != s for d, s in zip(shape, array.shape, strict=True))):
        raise ShapeError(at_user_site(
            f"feed for placeholder {node.name!r}: expected shape {format_shape(shape)}, got "
            f"{array.shape}"
        ))
    return array


def _flatten(fetches, leaves: list):
    """A structure template and the leaves of ``fetches`` (lists, tuples, dicts nest)."""
    if isinstance(fetches, dict):
        return ("dict", [(k, _flatten(v, leaves)[0]) for k, v in fetches.items()]), leaves
    if isinstance(fetches, list | tuple):
        kind = "list" if isinstance(fetches, list) else "tuple"
        return (kind, [_flatten(v, leaves)[0] for v in fetches]), leaves
    leaves.append(fetches)
    return ("leaf", None), leaves


def _unflatten(structure, outputs):
    kind, parts = structure
    if kind == "leaf":
        return next(outputs)
    if kind == "dict":
        return {k: _unflatten(v, outputs) for k, v in parts}
    items = [_unflatten(v, outputs) for v in parts]
    return items if kind == "list" else tuple(items)


def fetch_nodes(graph: Graph, fetches) -> list[Node]:
    leaves = [fetches] if isinstance(fetches, Tensor) else _flatten(fetches, [])[1]
    return [leaf._data for leaf in leaves]


class _DefaultSession:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        _SESSIONS.stack.append(self.session)
        return self.session

    def __exit__(self, *exc) -> None:
        _SESSIONS.stack.pop()


def eval_tensor(tensor: Tensor, feed_dict=None, session: Session | None = None):
    """``tensor.eval()``: run it in ``session`` or the default session."""
    session = session or get_default_session()
    if session is None:
        raise GraphError(at_user_site(
            "eval(): no session; pass session=... or call it inside `with fg.Session():`"
        ))
    return session.run(tensor, feed_dict)
