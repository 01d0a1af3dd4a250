"""``fg.onnx.export``: a model (or a function of tensors) traced into flowgrad's graph IR,
optimised by the graph passes, and translated node by node into an ONNX model.

The trace is the one ``fg.compile`` makes: the example inputs become placeholders (with
``None`` for the dimensions ``dynamic_axes`` names, so the graph is built for any size
there), and the parameters and buffers the model reads become variables, which the export
writes as initializers named by their ``state_dict`` names. Every node is translated before
anything is written: operations ONNX cannot express are reported together, each with the
user's line that made it, and the file is written (atomically) only once the model passes
``onnx.checker``.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flowgrad import dtypes
from flowgrad.autograd import no_grad
from flowgrad.errors import ExportError
from flowgrad.graph.build import constant_node, is_symbolic, placeholder
from flowgrad.graph.ir import TRACING, Graph, Node
from flowgrad.graph.passes import optimize
from flowgrad.graph.tracing import Swap, discover
from flowgrad.io import require
from flowgrad.io.atomic import write_atomically
from flowgrad.io.onnx_builder import Builder, Unsupported
from flowgrad.io.onnx_ops import GRADIENT_ONLY, TRANSLATIONS, needed_inputs
from flowgrad.tensor import Tensor

#: The opset an export uses unless told otherwise, and the oldest it can write.
DEFAULT_OPSET = 17
MIN_OPSET = 13
_RANDOM = ("draw", "keep_mask")


def export(model_or_fn: Callable, example_inputs, path: str | os.PathLike,
           input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None,
           dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
           opset: int = DEFAULT_OPSET) -> Any:
    """Export ``model_or_fn`` (an ``nn.Module`` or a function of tensors), called on
    ``example_inputs``, as an ONNX model at ``path``; returns the ``onnx.ModelProto``.

    ``example_inputs`` is a tensor or array, or a tuple/list of them (one graph input each).
    The module runs as its ``training`` flags say (the export does not switch its mode): call
    ``model.eval()`` first for inference (dropout then is the identity, batch norm uses its
    running statistics); a training-mode export warns that it draws random numbers or drops
    state updates. ``input_names`` / ``output_names`` name the
    graph's inputs and outputs (default ``input_0``, ``output_0``, ...). ``dynamic_axes``
    maps a name to ``{axis: "dim name"}`` or to a list of axes: those sizes are symbolic in
    the model, and the trace leaves them unknown. ``opset`` is the ONNX opset (13 or later).

    Operations ONNX cannot express (the gradient-only primitives, say) raise
    :class:`~flowgrad.errors.ExportError` listing each with the line that made it, and no file
    is written; a file is replaced only by a complete, checked model.

    >>> import os, tempfile
    >>> import numpy as np
    >>> import flowgrad as fg
    >>> import flowgrad.onnx
    >>> model = fg.nn.Sequential(fg.nn.Linear(3, 2), fg.nn.ReLU()).eval()
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> proto = fg.onnx.export(model, np.zeros((1, 3), np.float32), path,
    ...                        input_names=["x"], output_names=["y"],
    ...                        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    >>> [(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
    ...  for v in (*proto.graph.input, *proto.graph.output)]
    [('x', ['batch', 3]), ('y', ['batch', 2])]
    >>> sorted(t.name for t in proto.graph.initializer)
    ['0.bias', '0.weight']
    """
    onnx = require("onnx", "onnx", "fg.onnx.export")
    if not callable(model_or_fn):
        raise TypeError(f"fg.onnx.export: expected a module or a function, got "
                        f"{type(model_or_fn).__name__}")
    _check_opset(onnx, opset)
    arrays = _example_arrays(example_inputs)
    input_names = _names("input_names", input_names, "input", len(arrays))
    axes = _dynamic_axes(dynamic_axes)
    traced = trace(model_or_fn, arrays, [axes.get(name, {}) for name in input_names])
    output_names = _names("output_names", output_names, "output", len(traced.outputs))
    _check_axes(axes, input_names, output_names, [a.ndim for a in arrays],
                [n.ndim for n in traced.outputs])
    if len(set(input_names) | set(output_names)) < len(input_names) + len(output_names):
        raise ValueError(f"fg.onnx.export: input and output names must be distinct, got "
                         f"{list(input_names)} and {list(output_names)}")
    model = _build(onnx, traced, input_names, output_names, axes, opset)
    write_atomically(path, [model.SerializeToString()])
    return model


# -- arguments -------------------------------------------------------------------------------


def _check_opset(onnx, opset: int) -> None:
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"fg.onnx.export: opset must be an int from {MIN_OPSET} to {newest} "
                         f"(the installed onnx package's newest), got {opset!r}")


def _example_arrays(example_inputs) -> list[np.ndarray]:
    items = example_inputs if isinstance(example_inputs, tuple | list) else (example_inputs,)
    arrays = []
    for index, item in enumerate(items):
        if isinstance(item, Tensor) and not is_symbolic(item):
            item = item._data
        elif isinstance(item, np.generic):  # a NumPy scalar: a 0-D input
            item = np.asarray(item)
        if not isinstance(item, np.ndarray):
            raise TypeError(f"fg.onnx.export: example input {index} is a "
                            f"{type(item).__name__}; pass eager tensors or NumPy arrays (bind "
                            f"other arguments with a lambda or functools.partial)")
        dtypes.from_numpy_dtype(item.dtype)  # a dtype flowgrad has
        arrays.append(item)
    return arrays


def _names(what: str, names, default: str, count: int) -> list[str]:
    if names is None:
        return [f"{default}_{i}" for i in range(count)]
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"fg.onnx.export: {what} must be {count} non-empty strings (one per "
                         f"{default}), got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"fg.onnx.export: {what} must be distinct, got {names}")
    return names


def _dynamic_axes(dynamic_axes) -> dict[str, dict[int, str]]:
    """``{name: {axis: dim name}}``; a list of axes gets torch.onnx's default dim names."""
    parsed: dict[str, dict[int, str]] = {}
    for name, spec in (dynamic_axes or {}).items():
        if isinstance(spec, Mapping):
            parsed[name] = {int(axis): str(dim) for axis, dim in spec.items()}
        else:
            parsed[name] = {int(axis): f"{name}_dynamic_axes_{i + 1}"
                            for i, axis in enumerate(spec)}
    return parsed


def _check_axes(axes: dict, input_names: list, output_names: list, input_ranks: list,
                output_ranks: list) -> None:
    ranks = dict(zip(input_names + output_names, input_ranks + output_ranks, strict=True))
    for name, dims in axes.items():
        if name not in ranks:
            raise ValueError(f"fg.onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input ({input_names}) nor an output ({output_names})")
        bad = [axis for axis in dims if ranks[name] is None or not 0 <= axis < ranks[name]]
        if bad:
            raise ValueError(f"fg.onnx.export: dynamic_axes gives {name!r} axes {bad}, but it "
                             f"has {ranks[name]} dimensions")


# -- tracing ---------------------------------------------------------------------------------


@dataclass
class Traced:
    """What a trace gives an export: the graph, its placeholders and outputs (in order),
    and the ``state_dict`` name of each eager tensor the model reads, by ``id``."""

    name: str
    graph: Graph
    inputs: list[Node]
    outputs: list[Node]
    state_names: dict[int, str]


def trace(fn: Callable, arrays: list[np.ndarray], dynamic: list[dict]) -> Traced:
    """Run ``fn`` once on placeholders shaped like ``arrays`` (``None`` at the axes in
    ``dynamic``), with the parameters and buffers it reads swapped for graph variables."""
    name = getattr(fn, "__name__", type(fn).__name__)
    graph = Graph()
    graph.traced = f"fg.onnx.export({name})"
    modules, _, tensors = discover(inspect.unwrap(fn), [])  # (an fg.compile'd fn: its own)
    state_names = _state_names(modules)
    swap = Swap(graph, modules, [], tensors)
    outer, TRACING.graph = TRACING.graph, graph  # random draws by shape alone become nodes
    try:
        with graph.as_default(), no_grad():
            inputs = [placeholder(dtypes.from_numpy_dtype(array.dtype),
                                  shape=[None if axis in dims else size
                                         for axis, size in enumerate(array.shape)],
                                  name=f"input_{index}")
                      for index, (array, dims) in enumerate(zip(arrays, dynamic, strict=True))]
            result = fn(*inputs)
        outputs = [_output_node(graph, value, index)
                   for index, value in enumerate(_flatten(result, []))]
    finally:
        TRACING.graph = outer
        swap.restore()
        graph.sealed = True
    return Traced(name, graph, [t._data for t in inputs], outputs, state_names)


def _state_names(modules: list) -> dict[int, str]:
    names: dict[int, str] = {}
    for module in modules:
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            names.setdefault(id(tensor), name)
    return names


def _flatten(result, leaves: list) -> list:
    if isinstance(result, tuple | list):
        for item in result:
            _flatten(item, leaves)
    else:
        leaves.append(result)
    return leaves


def _output_node(graph: Graph, value, index: int) -> Node:
    if isinstance(value, Tensor):
        return value._data if is_symbolic(value) else constant_node(graph, value._data)
    if isinstance(value, np.ndarray):
        return constant_node(graph, value)
    raise TypeError(f"fg.onnx.export: output {index} is a {type(value).__name__}; the "
                    f"function must return a tensor or a tuple/list of tensors")


# -- translating -----------------------------------------------------------------------------


def _build(onnx, traced: Traced, input_names: list, output_names: list, axes: dict,
           opset: int):
    """The checked ONNX model of a trace, or an ExportError naming what cannot be exported."""
    helper = onnx.helper
    program = optimize(traced.graph, traced.outputs).program
    builder = Builder(onnx, opset)
    for name in (*input_names, *output_names):
        builder.reserve(name)
    for node, name in zip(traced.inputs, input_names, strict=True):
        builder.values[node] = name
    problems = _translate(builder, program.nodes, program.outputs, traced.state_names)
    if problems:
        listed = "\n".join(f"  {op} at {site}: {reason}" for op, site, reason in problems)
        raise ExportError(f"fg.onnx.export({traced.name}): {len(problems)} operation(s) cannot "
                          f"be exported to ONNX (opset {opset}); nothing was written:\n{listed}")
    _warn_about_state(traced.graph, program.nodes)
    for node, name in zip(program.outputs, output_names, strict=True):
        builder.nodes.append(helper.make_node("Identity", [builder.values[node]], [name],
                                              name=builder.fresh(f"{name}/Identity")))
    inputs = [_value_info(helper, name, node, axes.get(name, {}))
              for node, name in zip(traced.inputs, input_names, strict=True)]
    outputs = [_value_info(helper, name, node, axes.get(name, {}))
               for node, name in zip(program.outputs, output_names, strict=True)]
    graph = helper.make_graph(builder.nodes, traced.name, inputs, outputs,
                              initializer=builder.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="flowgrad",
                              ir_version=helper.find_min_ir_version_for(opsets))
    _check(onnx, model, traced.name)
    return model


def _translate(builder: Builder, nodes: list[Node], outputs: list[Node],
               state_names: dict[int, str]) -> list[tuple[str, str, str]]:
    """Translate what ``outputs`` need, in order; the (op, site, reason) of each failure."""
    needed = _needed(outputs)
    problems: list[tuple[str, str, str]] = []
    for node in nodes:
        if node not in needed or node in builder.values:
            continue
        builder.begin(node)
        try:
            builder.values[node] = _translate_node(builder, node, state_names)
        except Unsupported as exc:
            problem = (node.op, node.site or "<unknown>", str(exc))
            if problem not in problems:
                problems.append(problem)
            builder.values[node] = builder.fresh("unsupported")
    return problems


def _translate_node(builder: Builder, node: Node, state_names: dict[int, str]) -> str:
    if node.op == "constant":
        return builder.const(node.attrs["value"], name=node.name)
    if node.op == "variable":
        storage = node.attrs.get("storage")
        if storage is None:
            raise Unsupported("a graph Variable (its value lives in a Session, not in the "
                              "model); use a module's parameters or a constant")
        return builder.const(storage._data, name=state_names.get(id(storage), node.name))
    if node.op == "assign":
        return builder.values[node.inputs[0]]  # the value it stores
    shape = node.shape
    if shape is not None and None not in shape and 0 in shape:
        return builder.const(np.zeros(shape, node.dtype), name=node.name)  # empty: no work
    translation = TRANSLATIONS.get(node.op)
    if translation is None:
        why = ("a gradient-only primitive; export the forward computation"
               if node.op in GRADIENT_ONLY else "no ONNX translation")
        raise Unsupported(why)
    # (an input the translation does not read, see needed_inputs, has no value: "")
    return translation(builder, node, [builder.values.get(n, "") for n in node.inputs])


def _needed(outputs: list[Node]) -> set[Node]:
    """The nodes the outputs' translations read (see ``needed_inputs``)."""
    needed: set[Node] = set()
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        stack.extend(needed_inputs(node))
    return needed


def _warn_about_state(graph: Graph, nodes: list[Node]) -> None:
    if any(node.op in _RANDOM for node in nodes):
        warnings.warn("fg.onnx.export: the model draws random numbers (dropout in training "
                      "mode?); the ONNX model draws new ones at every run. Call model.eval() "
                      "before exporting for inference", stacklevel=4)
    if any(node.op == "assign" for node in graph.nodes):
        warnings.warn("fg.onnx.export: the model updates its state (batch norm's running "
                      "statistics in training mode?); ONNX models hold no state, so the "
                      "updates are not exported. Call model.eval() before exporting",
                      stacklevel=4)


def _value_info(helper, name: str, node: Node, dynamic: dict[int, str]):
    dims = [dynamic.get(axis, size) for axis, size in enumerate(node.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(node.dtype),
                                         dims)


def _check(onnx, model, name: str) -> None:
    if model.ByteSize() >= 2**31:
        raise ExportError(f"fg.onnx.export({name}): the model is larger than 2 GB, protobuf's "
                          f"limit; external weight files are not supported yet")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"fg.onnx.export({name}): the translated model fails onnx.checker "
                          f"(a bug in flowgrad's exporter; please report it): {exc}") from exc
