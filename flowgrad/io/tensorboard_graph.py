"""TensorBoard's graph view of flowgrad graphs: tracing a model into a :class:`Graph`, and a
graph into the TensorFlow ``GraphDef`` that TensorBoard draws.

A module or function is traced as ``fg.compile`` traces it (:mod:`flowgrad.graph.tracing`),
but never run: its example inputs become placeholders, the state it reads graph variables.
Forward hooks open a name scope for each module call, so TensorBoard groups the nodes by
module (``Sequential/Linear[0]/matmul``) and each parameter is named after its module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from flowgrad.errors import at_user_site
from flowgrad.graph.build import is_symbolic, placeholder
from flowgrad.graph.compile import CompiledFunction
from flowgrad.graph.ir import TRACING, Graph, Node, summarise
from flowgrad.graph.tracing import Swap, discover
from flowgrad.io import require
from flowgrad.tensor import Tensor


def _tensorboardx(module: str):
    return require(module, "tensorboard", "SummaryWriter.add_graph")


def _name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def trace(fn: Callable, example_inputs) -> tuple[Graph, dict[int, str]]:
    """Trace ``fn`` (a module or function) on placeholders shaped like ``example_inputs``,
    the way ``fg.compile`` does, without running it. Every module call is a name scope
    (``Sequential/Linear[0]/matmul``); the result maps ``id`` of each parameter or buffer to
    its name in that scope (``Sequential/Linear[0]/weight``)."""
    if isinstance(fn, CompiledFunction):
        fn = fn.fn
    args = tuple(example_inputs) if isinstance(example_inputs, tuple | list) else (
        example_inputs,)
    for index, arg in enumerate(args):
        if is_symbolic(arg):
            raise TypeError(at_user_site(
                f"add_graph: input_to_model[{index}] is a symbolic graph tensor; pass an "
                f"eager tensor or a NumPy array as the example input"))
    graph = Graph()
    graph.traced = _name(fn)
    modules, optimizers, tensors = discover(
        fn, [arg for arg in args if not isinstance(arg, Tensor | np.ndarray)])
    with contextlib.ExitStack() as undo:  # everything put back, also after an error
        undo.callback(setattr, graph, "sealed", True)  # escaped tensors cannot add to it
        scopes = _ModuleScopes(graph, modules)
        undo.callback(scopes.remove)
        undo.callback(Swap(graph, modules, optimizers, tensors).restore)
        undo.callback(setattr, TRACING, "graph", TRACING.graph)
        TRACING.graph = graph  # random draws made by shape alone become nodes too
        with graph.as_default():
            fn(*[_placeholder(arg, index) for index, arg in enumerate(args)])
    return graph, scopes.state_names()


def _placeholder(arg, index: int):
    if not isinstance(arg, Tensor | np.ndarray):
        return arg  # a static argument (a flag, a size), as fg.compile passes it
    array = arg._data if isinstance(arg, Tensor) else arg
    node = placeholder(array.dtype, shape=array.shape, name=f"input_{index}")
    node._rg = isinstance(arg, Tensor) and arg.requires_grad
    return node


class _ModuleScopes:
    """Forward hooks that open a name scope for each call of the modules a trace uses:
    ``Class`` for a top module, ``Class[attribute]`` for a submodule, nested as called."""

    def __init__(self, graph: Graph, modules: list) -> None:
        self.graph = graph
        self.open: list = []
        self.prefixes: dict[int, tuple[Any, str]] = {}  # id(module) -> (module, scope/)
        labels: dict[int, tuple[Any, str]] = {}
        for top in modules:
            for _, module in top.named_modules():
                labels.setdefault(id(module), (module, type(module).__name__))
        for top in modules:
            for _, module in top.named_modules():
                for name, child in module.named_children():
                    labels[id(child)] = (child, f"{type(child).__name__}[{name}]")
        self.handles = []
        for module, label in labels.values():
            self.handles.append(module.register_forward_pre_hook(self._enter(label)))
            self.handles.append(module.register_forward_hook(self._leave))

    def _enter(self, label: str) -> Callable:
        def enter(module, args) -> None:
            scope = self.graph.name_scope(label)
            prefix = scope.__enter__()
            self.open.append(scope)
            self.prefixes.setdefault(id(module), (module, prefix))
        return enter

    def _leave(self, module, args, result) -> None:
        self.open.pop().__exit__(None, None, None)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def state_names(self) -> dict[int, str]:
        names = {}
        for module, prefix in self.prefixes.values():
            for name, tensor in (*module.named_parameters(recurse=False),
                                 *module.named_buffers(recurse=False)):
                names.setdefault(id(tensor), prefix + name)
        return names


def to_graph_def(graph: Graph, state_names: dict[int, str] | None = None,
                 drop_unread: bool = False):
    """``graph`` as a TensorBoard (TensorFlow) ``GraphDef``: one ``NodeDef`` per node with its
    name (scopes become TensorBoard's groups), op, inputs (a ``group``'s as control inputs),
    ``dtype`` and ``_output_shapes``, and its attributes and creation site as strings.
    ``state_names``: names for the variables of captured parameters (by ``id``);
    ``drop_unread``: leave out the variables no node reads (state a trace did not use)."""
    protos = {name: _tensorboardx(f"tensorboardX.proto.{name}")
              for name in ("graph_pb2", "node_def_pb2", "attr_value_pb2", "versions_pb2")}
    attr_value = protos["attr_value_pb2"].AttrValue
    read = {id(source) for node in graph.nodes for source in node.inputs}
    kept = [node for node in graph.nodes
            if not (drop_unread and node.op == "variable" and id(node) not in read)]
    names = _display_names(kept, state_names or {})
    node_defs = []
    for node in kept:
        control = "^" if node.op == "group" else ""
        # "storage" is the eager tensor itself; a renamed variable's own name is internal
        hidden = ("storage", "variable") if names[id(node)] != node.name else ("storage",)
        attrs = {key: attr_value(s=_attr_text(value).encode())
                 for key, value in node.attrs.items() if key not in hidden}
        if node.site:
            attrs["site"] = attr_value(s=node.site.encode())
        if node.has_value and node.dtype is not None:
            attrs["dtype"] = attr_value(type=_data_type(node.dtype))
            attrs["_output_shapes"] = attr_value(list=attr_value.ListValue(
                shape=[_shape_proto(node.shape)]))
        node_defs.append(protos["node_def_pb2"].NodeDef(
            name=names[id(node)], op=node.op,
            input=[control + names[id(source)] for source in node.inputs], attr=attrs))
    return protos["graph_pb2"].GraphDef(
        node=node_defs, versions=protos["versions_pb2"].VersionDef(producer=22))


def _display_names(nodes: list[Node], state_names: dict[int, str]) -> dict[int, str]:
    """Each node's name in the GraphDef: its own, or for a captured parameter its name in
    its module's scope (made unique)."""
    taken = {node.name for node in nodes}
    names = {}
    for node in nodes:
        name = node.name
        storage = node.attrs.get("storage") if node.op == "variable" else None
        wanted = state_names.get(id(storage)) if storage is not None else None
        if wanted is not None:
            name, count = wanted, 0
            while name in taken:
                count += 1
                name = f"{wanted}_{count}"
            taken.add(name)
        names[id(node)] = name
    return names


def _attr_text(value) -> str:
    if isinstance(value, np.ndarray):
        return summarise(value)
    return value if isinstance(value, str) else repr(value)


def _data_type(dtype: np.dtype) -> int:
    types_pb2 = _tensorboardx("tensorboardX.proto.types_pb2")
    name = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF",
            "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64",
            "uint8": "DT_UINT8", "uint16": "DT_UINT16", "bool": "DT_BOOL"}.get(dtype.name)
    return types_pb2.DataType.Value(name or "DT_INVALID")


def _shape_proto(shape):
    shape_pb2 = _tensorboardx("tensorboardX.proto.tensor_shape_pb2")
    if not isinstance(shape, tuple):  # unknown rank
        return shape_pb2.TensorShapeProto(unknown_rank=True)
    return shape_pb2.TensorShapeProto(dim=[
        shape_pb2.TensorShapeProto.Dim(size=-1 if size is None else int(size))
        for size in shape])
