"""Common-subexpression elimination: nodes that must compute the same value become one.

Two nodes match when they have the same op (and primitive), the same inputs and equal attrs;
two constants match when their dtype, shape and bytes are equal; two reads of one variable
match (a read is the value when the run starts). Placeholders, assignments and groups never
match: each is its own value or effect.
"""

from __future__ import annotations

import hashlib

import numpy as np

from flowgrad.graph.ir import Node
from flowgrad.graph.passes.program import PassResult, Program, rebuild

_NEVER_MERGED = ("placeholder", "assign", "group")


def cse(program: Program) -> PassResult:
    """Replace each node that matches an earlier one by that earlier node.

    >>> import flowgrad as fg
    >>> from flowgrad.graph.passes import Program
    >>> from flowgrad.graph.passes.cse import cse
    >>> with fg.Graph().as_default() as g:
    ...     x = fg.placeholder(fg.float32, shape=(3,), name="x")
    ...     y = (x * 2).exp() + (x * 2).exp()
    >>> result = cse(Program(list(g.nodes), [y._data]))
    >>> result.notes
    ['merged Const_1 into Const', 'merged mul_1 into mul', 'merged exp_1 into exp']
    >>> result.program.outputs[0].inputs == (g.node("exp"), g.node("exp"))
    True
    """
    first_of: dict[tuple, Node] = {}
    mapping: dict[Node, Node] = {}
    notes = []
    for node in program.nodes:
        key = node_key(node, mapping)
        if key is None:
            continue
        first = first_of.setdefault(key, node)
        if first is not node:
            mapping[node] = first
            notes.append(f"merged {node.name} into {first.name}")
    if not mapping:
        return PassResult(program, False)
    return PassResult(rebuild(program, mapping), True, notes)


def node_key(node: Node, mapping: dict[Node, Node]) -> tuple | None:
    """What decides ``node``'s value, as a hashable key (inputs after ``mapping``); None for
    nodes that never merge."""
    if node.op in _NEVER_MERGED or (node.prim is not None and node.prim.random):
        return None  # two draws are two values
    if node.op == "constant":
        return ("constant", ArrayKey(node.attrs["value"]))
    inputs = tuple(mapping.get(n, n) for n in node.inputs)  # Nodes hash by identity
    shape = None if node.shape is None else tuple(node.shape)
    return (node.op, node.prim, inputs, attrs_key(node.attrs), shape, node.dtype)


def attrs_key(attrs: dict) -> tuple:
    """A hashable key for attrs; equal keys mean equal attrs (``storage`` by identity)."""
    return tuple((name, ("identity", id(value)) if name == "storage" else freeze(value))
                 for name, value in sorted(attrs.items(), key=lambda item: item[0]))


def freeze(value) -> object:
    """A hashable stand-in for an attr value, tagged with its type so that ``1``, ``1.0`` and
    ``True`` (equal in Python) stay apart, and ``0.0`` and ``-0.0`` too."""
    if value is None or isinstance(value, bool | int | str | bytes):
        return (type(value), value)
    if isinstance(value, float):
        return (type(value), value.hex())
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    if isinstance(value, np.ndarray):
        return ("identity", id(value)) if value.dtype.hasobject else ArrayKey(value)
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    if isinstance(value, tuple | list):
        return (type(value), tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((freeze(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, slice):
        return ("slice", freeze(value.start), freeze(value.stop), freeze(value.step))
    return ("identity", id(value))  # anything else: equal only to itself


class ArrayKey:
    """An array as a key: equal when dtype, shape and bytes are equal (hash by digest)."""

    __slots__ = ("array", "_hash")

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        digest = hashlib.blake2b(_raw(array), digest_size=16).digest()
        self._hash = hash((array.dtype.str, array.shape, digest))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayKey):
            return NotImplemented
        a, b = self.array, other.array
        return (a is b or (self._hash == other._hash and a.dtype == b.dtype
                           and a.shape == b.shape and np.array_equal(_raw(a), _raw(b))))


def _raw(array: np.ndarray) -> np.ndarray:
    """The array's bytes (so ``-0.0`` differs from ``0.0`` and a NaN equals itself)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)
