"""What passes work on: a :class:`Program` (nodes in a valid order plus outputs) and the
:class:`PassResult` a pass returns; :func:`rebuild` rewrites a program through a mapping."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowgrad.errors import GraphError
from flowgrad.graph.ir import Node


@dataclass
class Program:
    """The nodes one run needs, each after its inputs, and the outputs it fetches or runs."""

    nodes: list[Node]
    outputs: list[Node]

    @staticmethod
    def needed_by(outputs: list[Node]) -> Program:
        """The nodes ``outputs`` depend on (through inputs), in graph order."""
        needed: set[int] = set()
        stack = list(outputs)
        while stack:
            node = stack.pop()
            if id(node) in needed:
                continue
            needed.add(id(node))
            stack.extend(node.inputs)
        graph = outputs[0].graph if outputs else None
        nodes = [n for n in graph.nodes if id(n) in needed] if graph is not None else []
        if len(nodes) != len(needed):  # nodes made by passes are not in the graph: sort them
            nodes = _topological(outputs)
        return Program(nodes, list(outputs))

    def verify(self) -> None:
        """Every input before its user, every output present."""
        seen: set[int] = set()
        for node in self.nodes:
            for source in node.inputs:
                if id(source) not in seen:
                    raise GraphError(f"{node.name} ({node.op}) reads {source.name}, which is "
                                     f"not before it")
            seen.add(id(node))
        for node in self.outputs:
            if id(node) not in seen:
                raise GraphError(f"the output {node.name} is not in the program")


@dataclass
class PassResult:
    program: Program
    changed: bool
    notes: list[str] = field(default_factory=list)


def _topological(outputs: list[Node]) -> list[Node]:
    order: list[Node] = []
    done: set[int] = set()
    for start in outputs:
        if id(start) in done:
            continue
        stack = [(start, iter(start.inputs))]
        done.add(id(start))
        while stack:
            node, inputs = stack[-1]
            for source in inputs:
                if id(source) not in done:
                    done.add(id(source))
                    stack.append((source, iter(source.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def rebuild(program: Program, mapping: dict[Node, Node]) -> Program:
    """``program`` with every use of a key of ``mapping`` replaced by its value (nodes whose
    inputs change are remade; unused nodes are dropped with the next prune)."""
    remade: dict[Node, Node] = {}

    def resolve(node: Node) -> Node:
        while node in mapping:
            node = mapping[node]
        return remade.get(node, node)

    nodes = []
    for node in program.nodes:
        if node in mapping:
            continue
        inputs = tuple(resolve(n) for n in node.inputs)
        if inputs != node.inputs:
            new = Node(node.graph, node.op, inputs, node.attrs, node.shape, node.dtype,
                       node.name, node.site, node.prim)
            remade[node] = new
            node = new
        nodes.append(node)
    outputs = [resolve(n) for n in program.outputs]
    # Replacement nodes made by a pass may not be in the list yet: order everything needed.
    present = {id(n) for n in nodes}
    if any(id(n) not in present for n in outputs) or any(
            id(s) not in present for n in nodes for s in n.inputs):
        return Program(_topological(outputs), outputs)
    return Program(nodes, outputs)
