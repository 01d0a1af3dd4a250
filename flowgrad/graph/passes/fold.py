"""Constant folding: a primitive whose inputs are all constants is computed once, when the
plan is built, by the primitive's own kernel, and becomes a constant (with the same name).

Results larger than :data:`MAX_ELEMENTS` stay computed at run time (a constant holds its
memory for as long as the plan lives), and so do kernels that fail: the run reports those.
"""

from __future__ import annotations

import numpy as np

from flowgrad.graph.ir import SPECIAL_OPS, Node, format_shape
from flowgrad.graph.passes.program import PassResult, Program, rebuild

#: The largest result (in elements) that folding turns into a constant.
MAX_ELEMENTS = 1 << 20


def fold(program: Program) -> PassResult:
    """Replace each primitive node whose inputs are all constants by its value.

    >>> import flowgrad as fg
    >>> from flowgrad.graph.passes import Program
    >>> from flowgrad.graph.passes.fold import fold
    >>> with fg.Graph().as_default() as g:
    ...     x = fg.placeholder(fg.float32, shape=(2,), name="x")
    ...     y = x * (fg.constant([1.0, 2.0]) + 1)
    >>> result = fold(Program(list(g.nodes), [y._data]))
    >>> result.notes
    ['folded add (constant (2,) float32)']
    >>> result.program.outputs[0].inputs[1].attrs["value"]
    array([2., 3.], dtype=float32)
    """
    values: dict[Node, np.ndarray] = {}  # the constant value of each node known to have one
    mapping: dict[Node, Node] = {}
    nodes, notes = [], []
    for node in program.nodes:
        if node.op == "constant":
            values[node] = node.attrs["value"]
        elif (node.op not in SPECIAL_OPS and node.prim is not None and not node.prim.random
              and node.inputs
              and all(n in values or _shape_only(node, n) for n in node.inputs)):
            folded, note = fold_node(node, [values[n] if n in values else _stand_in(n)
                                            for n in node.inputs])
            notes.append(note)
            if folded is not None:
                values[node] = folded.attrs["value"]
                mapping[node] = folded
                node = folded  # in the old node's place: every user comes after it
        nodes.append(node)
    if not mapping:
        return PassResult(program, False, notes)  # notes of what was kept, and why
    return PassResult(rebuild(Program(nodes, list(program.outputs)), mapping), True, notes)


# Primitives that read only the shape of their input (``full_like``: a gradient's seed of
# ones; ``count``: what a mean divides by): with a static shape, they fold too.
_SHAPE_ONLY = ("full_like", "count")


def _shape_only(node: Node, source: Node) -> bool:
    return (node.op in _SHAPE_ONLY and source.shape is not None and None not in source.shape
            and source.size <= MAX_ELEMENTS)


def _stand_in(source: Node) -> np.ndarray:
    """A value of ``source``'s shape and dtype, for a kernel that reads only those."""
    return np.zeros(source.shape, source.dtype)


def fold_node(node: Node, inputs: list[np.ndarray]) -> tuple[Node | None, str]:
    """The constant ``node`` computes from ``inputs`` (None when it is not folded), and a
    note saying what happened."""
    if node.size is not None and node.size > MAX_ELEMENTS:
        return None, _too_big(node, node.size)
    try:
        value = np.asarray(node.prim.forward(*inputs, **node.attrs))
    except Exception as exc:  # the run raises it, with the run's error handling
        return None, f"kept {node.name}: its kernel failed on constants ({type(exc).__name__})"
    if value.size > MAX_ELEMENTS:
        return None, _too_big(node, value.size)
    if (node.shape is not None and value.shape != tuple(node.shape)) or value.dtype != node.dtype:
        return None, (f"kept {node.name}: its kernel gave {value.shape} {value.dtype}, not the "
                      f"declared {format_shape(node.shape)} {node.dtype}")
    if value.base is not None:  # a view of an input: own the memory
        value = value.copy()
    value.flags.writeable = False
    folded = Node(node.graph, "constant", (), {"value": value}, value.shape, value.dtype,
                  node.name, node.site)
    return folded, f"folded {node.name} (constant {format_shape(value.shape)} {value.dtype})"


def _too_big(node: Node, size: int) -> str:
    return f"kept {node.name}: its result has {size} elements (more than {MAX_ELEMENTS})"
