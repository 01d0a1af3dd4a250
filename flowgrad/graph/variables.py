"""Variables: state that lives across runs (TF-1's ``tf.Variable``), and their assignments.

A :class:`Variable` is a symbolic tensor whose node reads the variable's value when a run
starts. Where the value lives is the variable's *storage*: a :class:`~flowgrad.graph.Session`
holds the values of graph variables; an eager tensor captured into a graph (a module's
``Parameter``) is its own storage, so graph runs and eager code share its memory.

An in-place operation on a symbolic tensor that stands for a variable (``v.add_(1)``, what
optimizers do) becomes an ``assign`` node: it stores the new value when the run ends, and is
that value for every later read in the same computation.
"""

from __future__ import annotations

import weakref

import numpy as np

from flowgrad import dtypes
from flowgrad.errors import GraphError, ShapeError, at_user_site, user_site
from flowgrad.graph.build import constant_node, graph_of, node_of
from flowgrad.graph.ir import Graph, Node, get_default_graph
from flowgrad.tensor import Tensor


class Variable(Tensor):
    """A value that persists across runs of a graph; ``initial_value`` sets it when the
    initialiser runs (``fg.global_variables_initializer()``, or ``variable.initializer``).

    >>> import flowgrad as fg
    >>> with fg.Graph().as_default():
    ...     w = fg.Variable(1.0, name="w")
    ...     step = w.assign_add(2.0)
    ...     with fg.Session() as sess:
    ...         _ = sess.run(fg.global_variables_initializer())
    ...         _ = sess.run(step)
    ...         sess.run(w)
    array(3., dtype=float32)
    """

    __slots__ = ("trainable", "initial_value", "initializer", "storage")

    def __new__(cls, initial_value=None, name: str | None = None, trainable: bool = True,
                dtype=None, *, graph: Graph | None = None, storage: Tensor | None = None):
        if initial_value is None:
            raise ValueError("Variable: initial_value is required")
        graph = graph or graph_of(initial_value) or get_default_graph()
        if storage is not None:  # an eager tensor's own memory: nothing to initialise
            initial = None
            shape, np_dtype = storage._data.shape, storage._data.dtype
        else:
            initial = _initial_value(graph, initial_value, dtype, name)
            shape, np_dtype = initial._data.shape, initial._data.dtype
        node = graph.add("variable", (), {}, shape, np_dtype, name=name or "Variable",
                         site=user_site())
        node.attrs["variable"] = node.name
        if storage is not None:
            node.attrs["storage"] = storage
        var = object.__new__(cls)
        var._fill(node, trainable and node.dtype.kind == "f")
        var.trainable = trainable
        var.initial_value = initial
        var.storage = storage
        var.initializer = None if initial is None else Tensor._wrap(
            assign_node(node, initial._data, name=f"{node.name}/Assign", scoped=False))
        graph.variables.append(var)
        return var

    def __init__(self, *args, **kwargs) -> None:
        pass  # everything is set in __new__

    @property
    def name(self) -> str:
        return self._data.name

    @property
    def graph(self) -> Graph:
        return self._data.graph

    def proxy(self) -> Tensor:
        """A fresh symbolic tensor reading this variable: in-place operations on it become
        assignments without re-pointing the variable itself."""
        return Tensor._wrap(self._data)

    def assign(self, value) -> Tensor:
        """Store ``value`` (cast to this variable's dtype) when the run ends; the result is
        the value (run it, or use it, to make the assignment happen)."""
        value = self._value_like(value, "assign")
        return Tensor._wrap(assign_node(self._data, value._data))

    def assign_add(self, delta) -> Tensor:
        return Tensor._wrap(assign_node(self._data, (self.proxy() + delta)._data))

    def assign_sub(self, delta) -> Tensor:
        return Tensor._wrap(assign_node(self._data, (self.proxy() - delta)._data))

    def value(self) -> Tensor:
        return self.proxy()

    read_value = value

    def _value_like(self, value, op: str) -> Tensor:
        from flowgrad.graph.build import constant

        if not isinstance(value, Tensor):
            with self.graph.as_default():
                value = constant(value, dtype=self.dtype)
        from flowgrad.inplace import _shapes_differ

        if _shapes_differ(value._data.shape, self._data.shape):
            raise ShapeError(at_user_site(
                f"{self.name}.{op}: value of shape {value.shape} does not match the "
                f"variable's shape {self.shape}"
            ))
        return value

    def __repr__(self) -> str:
        return (f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}"
                f"{'' if self.trainable else ' trainable=False'}>")


def _initial_value(graph: Graph, value, dtype, name) -> Tensor:
    if isinstance(value, Tensor) and type(value._data) is Node:
        initial = value.detach()
        return initial if dtype is None else initial.to(dtypes.as_dtype(dtype))
    array = np.asarray(value._data if isinstance(value, Tensor) else value)
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(dtype).np)
    elif array.dtype == np.float64 and not isinstance(value, np.ndarray | Tensor):
        array = array.astype(dtypes.get_default_dtype().np)  # Python floats: float32
    dtypes.from_numpy_dtype(array.dtype)  # a dtype flowgrad knows
    return Tensor._wrap(constant_node(graph, array, name=f"{name or 'Variable'}/initial"))


def assign_node(variable: Node, value: Node, name: str | None = None,
                scoped: bool = True) -> Node:
    """An ``assign`` of ``value`` (cast to the variable's dtype) to the variable that
    ``variable`` reads or last assigned."""
    graph = variable.graph
    if value.graph is not graph:
        raise GraphError(at_user_site(
            f"assign to {variable.attrs['variable']}: the value belongs to another graph"
        ))
    if value.dtype != variable.dtype:
        value = Tensor._wrap(value).to(dtypes.from_numpy_dtype(variable.dtype))._data
    attrs = {key: variable.attrs[key] for key in ("variable", "storage") if key in variable.attrs}
    return graph.add("assign", (value,), attrs, variable.shape, variable.dtype,
                     name=name or "Assign", site=user_site(), scoped=scoped)


def variable_name(node: Node) -> str | None:
    """The variable a node stands for (a read or an assignment), else None."""
    return node.attrs.get("variable") if node.op in ("variable", "assign") else None


def capture(graph: Graph, tensor: Tensor) -> Variable:
    """The variable of ``graph`` whose storage is the eager leaf ``tensor`` (made once)."""
    captured = graph.captured
    entry = captured.get(id(tensor))
    if entry is not None and entry[0]() is tensor:
        return entry[1]
    var = Variable(tensor, name="captured", graph=graph, trainable=tensor._rg, storage=tensor)
    captured[id(tensor)] = (weakref.ref(tensor), var, tensor.grad)  # .grad before the graph
    return var


def global_variables_initializer(graph: Graph | None = None) -> Tensor:
    """One op that sets every variable of the graph made so far to its initial value."""
    graph = graph or get_default_graph()
    inits = tuple(var.initializer._data for var in graph.variables if var.storage is None)
    return Tensor._wrap(graph.add("group", inits, {}, None, None, name="init"))


def trainable_variables(graph: Graph | None = None) -> list[Variable]:
    graph = graph or get_default_graph()
    return [var for var in graph.variables if var.trainable]


def global_variables(graph: Graph | None = None) -> list[Variable]:
    graph = graph or get_default_graph()
    return list(graph.variables)


def group(*ops, name: str | None = None) -> Tensor:
    """One op that runs all of ``ops`` (TF-1's ``tf.group``)."""
    graph = graph_of(*ops) or get_default_graph()
    nodes = tuple(node_of(graph, op) for op in ops)
    return Tensor._wrap(graph.add("group", nodes, {}, None, None, name=name or "group"))


def assign_inplace(target: Tensor, value: Tensor) -> None:
    """``target``'s in-place update to ``value``, symbolically: an assignment when
    ``target`` stands for a variable, else a new name for the value."""
    node = value._data
    if type(target._data) is not Node:
        if node.graph.traced is not None:
            raise GraphError(at_user_site(
                f"{node.graph.traced}: an eager tensor of shape {tuple(target.shape)} is "
                f"updated in place, but fg.compile did not find it among the state the "
                f"function uses (the modules, optimizers and tensors it reaches through its "
                f"closure, default arguments, globals or self). Reference its module or "
                f"optimizer there, or pass it as an argument"
            ))
        raise GraphError(at_user_site(
            "an eager tensor cannot be updated in place with a symbolic value; build the "
            "update in the graph (Variable.assign), or trace the whole step with fg.compile"
        ))
    if variable_name(target._data) is not None:
        node = assign_node(target._data, node)
    elif node.dtype != target._data.dtype:
        node = value.to(dtypes.from_numpy_dtype(target._data.dtype))._data
    target._data = node
