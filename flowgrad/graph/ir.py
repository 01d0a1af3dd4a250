"""The graph IR: :class:`Node` (one operation, immutable) and :class:`Graph` (nodes in a valid
order, unique names, name scopes, the default graph).

A symbolic :class:`~flowgrad.tensor.Tensor` holds a node where an eager one holds an array, so
a node answers the questions shape rules ask of a value: ``shape`` (``None`` for an unknown
dimension, or for an unknown rank), ``dtype``, ``ndim``.

Node kinds (``op``): a primitive's name (``prim`` set), or one of the special kinds

- ``placeholder``: a value fed at run time;
- ``constant``: a value held by the node (``attrs["value"]``);
- ``variable``: the value a variable has when a run starts (``attrs["variable"]``: its name);
- ``assign``: stores its input into a variable when the run ends, and is that value;
- ``group``: no value; runs its inputs (a train op, the variable initialiser).
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Iterator

import numpy as np

from flowgrad.errors import GraphError, TracingError, at_user_site
from flowgrad.ops.rules import DynamicShape

SPECIAL_OPS = ("placeholder", "constant", "variable", "assign", "group")
SIDE_EFFECTS = ("assign", "group")


class Node:
    """One operation of a :class:`Graph`: op, inputs, attrs, static shape and dtype, a unique
    name, and the user's ``file:line`` that created it (for errors)."""

    __slots__ = ("graph", "op", "prim", "inputs", "attrs", "shape", "dtype", "name", "site",
                 "__weakref__")

    def __init__(self, graph: Graph, op: str, inputs: tuple, attrs: dict, shape, dtype,
                 name: str, site: str | None = None, prim=None) -> None:
        self.graph = graph
        self.op = op
        self.prim = prim
        self.inputs = tuple(inputs)
        self.attrs = attrs
        if shape is not None:
            shape = DynamicShape(shape, self) if None in shape else tuple(shape)
        self.shape = shape
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.name = name
        self.site = site

    # NumPy refuses a node (kernels raise on one, and Primitive.bind then builds a node
    # instead of computing): a node has no value until the graph runs.
    __array_ufunc__ = None

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"{self.name} is a graph node, not an array")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"{self.name} is a graph node, not an array")

    @property
    def ndim(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def size(self) -> int | None:
        """The number of elements, when every dimension is known."""
        if self.shape is None or None in self.shape:
            return None
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def has_value(self) -> bool:
        return self.op != "group"

    def __repr__(self) -> str:
        return f"<node {self.name}: {self.op} {format_shape(self.shape)} {self.dtype}>"

    def describe(self) -> str:
        """One line: ``name = op(inputs) attrs : shape dtype``."""
        args = ", ".join(n.name for n in self.inputs)
        shown = {k: v for k, v in self.attrs.items() if k != "value"}
        attrs = f" {shown}" if shown else ""
        if self.op == "constant":
            attrs = f" {summarise(self.attrs['value'])}"
        kind = "" if not self.has_value else f" : {format_shape(self.shape)} {self.dtype}"
        return f"{self.name} = {self.op}({args}){attrs}{kind}"


def format_shape(shape) -> str:
    if shape is None:
        return "(?)"
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def summarise(value: np.ndarray) -> str:
    if value.ndim == 0:
        return np.format_float_positional(value, trim="0") if value.dtype.kind == "f" else (
            repr(value.item()))
    if value.size <= 4:
        return np.array2string(value, separator=", ")
    return f"<{value.dtype} array {value.shape}>"


class Graph:
    """A dataflow graph: nodes in the order they were added (every input before its users).

    >>> import flowgrad as fg
    >>> g = fg.Graph()
    >>> with g.as_default():
    ...     x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
    ...     y = (x * 2).sum(dim=1)
    >>> print(g)
    x = placeholder() : (?, 3) float32
    Const = constant() 2.0 : () float32
    mul = mul(x, Const) : (?, 3) float32
    sum = sum(mul) {'axes': (1,), 'keepdim': False} : (?,) float32
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._names: dict[str, int] = {}
        self._scopes: list[str] = []
        self.variables: list = []  # the Variable tensors made in this graph, in order
        # id(eager tensor) -> (weakref to it, its Variable, its .grad when it was captured)
        self.captured: dict[int, tuple] = {}
        self.sealed = False  # a finished trace's graph: nothing more may be added
        self.traced: str | None = None  # the compiled function this graph traces, if any

    # -- building ---------------------------------------------------------------------------

    def add(self, op: str, inputs=(), attrs=None, shape=None, dtype=None, *, name=None,
            site=None, prim=None, scoped: bool = True) -> Node:
        """Append a node; its inputs must belong to this graph. ``scoped=False``: ``name``
        is already a full name (no name-scope prefix)."""
        if self.sealed:
            raise TracingError(at_user_site(
                f"{op}: a tensor made while tracing a compiled function was used after the "
                f"trace (it escaped: kept in a list, a global or an attribute). Return it "
                f"from the function instead"
            ))
        for node in inputs:
            if node.graph is not self:
                raise GraphError(
                    f"{op}: input {node.name!r} belongs to another graph; build every "
                    f"operation of one computation in one graph (see Graph.as_default())"
                )
        node = Node(self, op, inputs, attrs or {}, shape, dtype,
                    self.unique_name(name or op, scoped), site, prim)
        self.nodes.append(node)
        return node

    def unique_name(self, base: str, scoped: bool = True) -> str:
        """``base`` inside the current name scope, made unique (``add``, ``add_1``, ...)."""
        base = re.sub(r"[^A-Za-z0-9_.\-/]", "_", base)
        name = "/".join([*self._scopes, base]) if self._scopes and scoped else base
        count = self._names.get(name)
        if count is None:
            self._names[name] = 0
            return name
        while True:
            count += 1
            candidate = f"{name}_{count}"
            if candidate not in self._names:
                self._names[name] = count
                self._names[candidate] = 0
                return candidate

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[str]:
        """Prefix the names of nodes made inside with ``name/`` (nested scopes nest)."""
        self._scopes.append(name.rstrip("/"))
        try:
            yield "/".join(self._scopes) + "/"
        finally:
            self._scopes.pop()

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this the graph that placeholders, constants and variables go into."""
        _DEFAULT.stack.append(self)
        try:
            yield self
        finally:
            _DEFAULT.stack.pop()

    # -- reading ----------------------------------------------------------------------------

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this graph")

    def __len__(self) -> int:
        return len(self.nodes)

    def __bool__(self) -> bool:
        return True  # a graph is a graph even while empty (``graph or default`` must work)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __str__(self) -> str:
        return "\n".join(node.describe() for node in self.nodes)

    def verify(self) -> None:
        """Check that every input comes before its user and names are unique."""
        seen: set[int] = set()
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise GraphError(f"verify: two nodes are named {node.name!r}")
            names.add(node.name)
            for source in node.inputs:
                if id(source) not in seen:
                    raise GraphError(
                        f"verify: {node.name} ({node.op}) reads {source.name}, which is not "
                        f"before it in the graph"
                    )
            seen.add(id(node))

    def to_dot(self) -> str:
        from flowgrad.graph.draw import to_dot

        return to_dot(self.nodes)

    def draw(self, path: str) -> str:
        from flowgrad.graph.draw import draw

        return draw(self.nodes, path)

    def explain(self, fetches=None) -> str:
        """What the optimisation passes do to this graph (or to the part ``fetches`` need)."""
        from flowgrad.graph.passes import optimize
        from flowgrad.graph.session import fetch_nodes

        outputs = fetch_nodes(self, fetches) if fetches is not None else [
            n for n in self.nodes if n.op in SIDE_EFFECTS or not _used(self, n)]
        return optimize(self, outputs).report()


def _used(graph: Graph, node: Node) -> bool:
    return any(node in user.inputs for user in graph.nodes)


class _DefaultStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[Graph] = []
        self.base = Graph()


_DEFAULT = _DefaultStack()


class _Tracing(threading.local):
    graph: Graph | None = None


#: The graph of the function being traced by fg.compile in this thread, if any.
TRACING = _Tracing()


def get_default_graph() -> Graph:
    """The innermost ``as_default()`` graph of this thread, else the global default graph."""
    return _DEFAULT.stack[-1] if _DEFAULT.stack else _DEFAULT.base


def reset_default_graph() -> None:
    """Start a fresh global default graph (not allowed inside ``as_default()``)."""
    if _DEFAULT.stack:
        raise GraphError("reset_default_graph: not allowed inside a Graph.as_default() block")
    _DEFAULT.base = Graph()


def name_scope(name: str):
    """``with fg.name_scope("layer1"):`` prefixes node names in the default graph."""
    return get_default_graph().name_scope(name)
