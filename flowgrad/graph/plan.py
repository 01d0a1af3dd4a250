"""The executor: an optimised program lowered to straight-line Python source.

Each node becomes one line that calls its primitive's kernel on NumPy arrays (attributes bound
once, with ``functools.partial``); constants and kernels are names in the function's globals;
assignments are collected and committed after the last kernel, so a run that fails changes no
variable. ``Plan.source`` shows the code. ``Plan.interpret`` runs the same program node by
node, for debugging and to measure what the generated code saves.
"""

from __future__ import annotations

import functools

import numpy as np

from flowgrad.errors import GraphError, at_user_site
from flowgrad.graph.ir import Node
from flowgrad.graph.memory import (
    OPERATORS,
    MemoryPlan,
    plan_memory,
    scalar_arithmetic,
    write_in_place,
)

# Outputs that would hand out memory the graph still holds: fetched as copies.
_ALIASING = ("placeholder", "constant", "variable")


class Plan:
    """Generated code for one set of fetches and fed placeholders of a graph."""

    def __init__(self, optimized, feeds: list[Node]) -> None:
        self.optimized = optimized  # what the passes did (graph.passes.Optimized)
        program = self.program = optimized.program
        self.feeds = list(feeds)
        feed_index = {node: i for i, node in enumerate(self.feeds)}
        missing = [n for n in program.nodes if n.op == "placeholder" and n not in feed_index]
        if missing:
            raise GraphError(at_user_site(
                "Session.run: the fetches need placeholder(s) "
                + ", ".join(f"{n.name!r} (shape {_shape(n)}, {n.dtype})" for n in missing)
                + ", which were not fed; pass them in feed_dict"
            ))
        self.reads = frozenset(n.attrs["variable"] for n in program.nodes
                               if n.op == "variable" and "storage" not in n.attrs)
        escaping = set(program.outputs) | {n.inputs[0] for n in program.nodes
                                            if n.op == "assign"}
        self.memory = plan_memory(program.nodes, escaping)
        self.memory.in_place = write_in_place(program.nodes, set(program.outputs))
        self.source, self._function = _generate(program, feed_index, self.memory)

    def explain(self) -> str:
        """What the passes did, and what the memory plan saves."""
        return f"{self.optimized.report()}\n{self.memory.report()}"

    def __call__(self, feeds: list, values: dict) -> list:
        return self._function(feeds, values)

    def interpret(self, feeds: list, values: dict) -> list:
        """Run the program node by node (what the generated code does, without generating)."""
        env: dict[Node, object] = {}
        commits = {}
        feed_index = {node: i for i, node in enumerate(self.feeds)}
        for node in self.program.nodes:
            op = node.op
            if op == "placeholder":
                env[node] = feeds[feed_index[node]]
            elif op == "constant":
                env[node] = node.attrs["value"]
            elif op == "variable":
                storage = node.attrs.get("storage")
                env[node] = storage._data if storage is not None else values[
                    node.attrs["variable"]]
            elif op == "assign":
                env[node] = env[node.inputs[0]]
                commits[node.attrs["variable"]] = (node, env[node])
            elif op == "group":
                env[node] = None
            else:
                out = node.prim.forward(*(env[n] for n in node.inputs), **node.attrs)
                env[node] = out if type(out) is np.ndarray else np.asarray(out)
        for name, (node, value) in commits.items():
            _commit(node, name, value, values)
        return [None if env[n] is None else _fetched(n, env[n]) for n in self.program.outputs]


def _shape(node: Node) -> str:
    from flowgrad.graph.ir import format_shape

    return format_shape(node.shape)


def _fetched(node: Node, value):
    return np.array(value) if _aliases(node) else value


def _commit(node: Node, name: str, value, values: dict) -> None:
    storage = node.attrs.get("storage")
    if storage is not None:
        np.copyto(storage._data, value)
    else:
        values[name] = np.array(value) if _aliases(node.inputs[0]) else value


def _aliases(node: Node) -> bool:
    return node.op in _ALIASING or (node.prim is not None and node.prim.view)


def _kernel(node: Node):
    """The node's kernel with its attributes bound: the primitive's own lowering where it
    has one (a C callable, such as ``np.add.reduce`` with its axis), else a partial."""
    prim = node.prim
    if prim.lower is not None:
        return prim.lower(**node.attrs)
    return functools.partial(prim.forward, **node.attrs) if node.attrs else prim.forward


def _generate(program, feed_index: dict[Node, int], memory: MemoryPlan):
    """The source of ``run(feeds, values)`` for ``program``, and the function itself."""
    namespace: dict[str, object] = {"asarray": np.asarray, "array": np.array,
                                    "copyto": np.copyto, "ndarray": np.ndarray}
    names: dict[Node, str] = {}
    scalars: set[str] = set()  # locals that may hold a NumPy scalar rather than an array
    as_scalar: dict[str, str] = {}  # a 0-d array's local -> a local of its scalar
    lines = ["def run(feeds, values):"]
    commits: dict[str, tuple[Node, str]] = {}

    def scalar_of(source: Node) -> str:
        local = names[source]
        if local in scalars:
            return local
        if local not in as_scalar:
            as_scalar[local] = f"{local}_"
            if source.op == "constant":  # made once, with the program
                namespace[f"{local}_"] = source.attrs["value"][()]
            else:
                lines.append(f"    {local}_ = {local}[()]")
        return as_scalar[local]

    def array_of(source: Node) -> str:
        local = names[source]
        return f"asarray({local})" if local in scalars else local

    for index, node in enumerate(program.nodes):
        op, local = node.op, f"v{index}"
        if op == "placeholder":
            lines.append(f"    {local} = feeds[{feed_index[node]}]  # {node.name}")
        elif op == "constant":
            local = f"c{index}"
            namespace[local] = node.attrs["value"]
        elif op == "variable":
            storage = node.attrs.get("storage")
            if storage is not None:
                namespace[f"s{index}"] = storage
                lines.append(f"    {local} = s{index}._data  # {node.name}")
            else:
                lines.append(f"    {local} = values[{node.attrs['variable']!r}]")
        elif op == "assign":
            local = names[node.inputs[0]]
            commits[node.attrs["variable"]] = (node, local)
        elif op == "group":
            local = "None"
        elif scalar_arithmetic(node):
            expression = OPERATORS[op].format(*(scalar_of(n) for n in node.inputs))
            lines.append(f"    {local} = {expression}  # {node.name}: {op}")
            scalars.add(local)
            target = memory.in_place.get(node)
            if target is not None:  # a 0-d state update: stored into the tensor's memory
                namespace[f"t{index}"] = target
                lines.append(f"    t{index}._data[()] = {local}")
        elif op == "cast" and node.shape == ():  # the scalar type's constructor: half the time
            namespace[f"k{index}"] = node.dtype.type
            lines.append(f"    {local} = k{index}({scalar_of(node.inputs[0])})  # {node.name}")
            scalars.add(local)
        else:
            kernel = f"k{index}"
            buffer = memory.assigned.get(node)
            target = memory.in_place.get(node)
            writing = buffer is not None or target is not None
            namespace[kernel] = node.prim.into if writing and node.prim.into else _kernel(node)
            ufunc_like = isinstance(node.prim.forward, np.ufunc) or node.prim.lower is not None
            if ufunc_like:  # takes NumPy scalars as well as arrays
                args = [names[n] for n in node.inputs]
            else:
                args = [array_of(n) for n in node.inputs]
            if buffer is not None:  # into its preallocated buffer (see memory.py)
                namespace[f"b{buffer}"] = memory.buffers[buffer]
                args.append(f"out=b{buffer}")
            elif target is not None:  # straight into the state tensor it updates
                namespace[f"t{index}"] = target
                args.append(f"out=t{index}._data")
            call = f"{kernel}({', '.join(args)})"
            if (node.shape is None or not node.shape) and buffer is None and target is None:
                if ufunc_like:
                    scalars.add(local)  # a NumPy scalar, made an array where one is needed
                else:
                    call = f"asarray({call})"  # a kernel may give a NumPy scalar
            lines.append(f"    {local} = {call}  # {node.name}: {node.op}")
        names[node] = local
    for variable, (node, local) in commits.items():
        storage = node.attrs.get("storage")
        if node.inputs[0] in memory.in_place:
            continue  # written in place already
        if storage is not None:
            namespace[f"w_{local}"] = storage
            lines.append(f"    copyto(w_{local}._data, {local})  # {variable}")
        elif _aliases(node.inputs[0]):
            lines.append(f"    values[{variable!r}] = array({local})")
        else:
            lines.append(f"    values[{variable!r}] = {array_of(node.inputs[0])}")
    results = []
    for node in program.outputs:
        local = names[node]
        if local != "None" and _aliases(node):
            results.append(f"array({local})")
        else:
            results.append(array_of(node) if local != "None" else local)
    lines.append(f"    return [{', '.join(results)}]")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<flowgrad plan>", "exec"), namespace)
    return source, namespace["run"]
