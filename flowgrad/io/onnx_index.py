"""ONNX translations of indexing: basic ``getitem`` (Slice, Squeeze, Unsqueeze), NumPy's
advanced ``index`` (GatherND, with NumPy's rules for where the indexed dimensions go), the
``index_scatter`` that is its gradient, and ``gather`` / ``scatter_add`` along one dimension
(GatherElements / ScatterElements).

An index is first made plain: ``...`` becomes full slices, ``None`` a new axis of size 1
(then a full slice), a boolean mask the integer positions of its True values (NonZero), an
integer beside index tensors a 0-D index tensor, as NumPy treats it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowgrad.graph.ir import Node
from flowgrad.io.onnx_builder import INT64_MAX, INT64_MIN, Builder, Unsupported
from flowgrad.ops.indexing import SLOT


@dataclass
class _Tensor:
    """An index tensor: its ONNX name, static shape (None sizes unknown) and dtype."""

    name: str
    shape: tuple
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)


def _parts(b: Builder, template: tuple, tensors: list[_Tensor]) -> list:
    """The template with its slots filled, and NumPy arrays in it made constants."""
    it = iter(tensors)
    parts = []
    for part in template:
        if part is SLOT:
            part = next(it)
        elif isinstance(part, np.ndarray):
            part = _Tensor(b.const(part), part.shape, part.dtype)
        parts.append(part)
    return parts


def _width(part) -> int:
    """How many dimensions of the indexed tensor a part consumes."""
    if part is None or part is Ellipsis:
        return 0
    if isinstance(part, _Tensor) and part.dtype == np.bool_:
        return part.ndim
    return 1


def apply_index(b: Builder, x: str, ndim: int, template: tuple,
                tensors: list[_Tensor]) -> str:
    """``x[index]`` by NumPy's rules, for ``x`` of ``ndim`` dimensions, where ``index`` is
    ``template`` with ``tensors`` in its slots."""
    parts = _parts(b, template, tensors)
    rest = ndim - sum(_width(p) for p in parts)
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts[at:at + 1] = [slice(None)] * rest
    else:
        parts.extend([slice(None)] * rest)
    # New axes first: x gets them, and each None becomes a full slice of its axis.
    new_axes, axis = [], 0
    for i, part in enumerate(parts):
        if part is None:
            new_axes.append(axis)
            parts[i] = slice(None)
        axis += _width(parts[i])
    if new_axes:
        x = b.unsqueeze(x, new_axes)
    if not any(isinstance(p, _Tensor) for p in parts):
        return _basic(b, x, parts)
    return _advanced(b, x, ndim + len(new_axes), parts)


def _slice_bounds(part) -> tuple[int, int, int]:
    """ONNX Slice's start, end and step for a Python slice or int (ONNX clamps as Python)."""
    if isinstance(part, int):
        return part, (part + 1 if part != -1 else INT64_MAX), 1
    step = 1 if part.step is None else part.step
    if step > 0:
        start = 0 if part.start is None else part.start
        end = INT64_MAX if part.stop is None else part.stop
    else:
        start = INT64_MAX if part.start is None else part.start
        end = INT64_MIN if part.stop is None else part.stop
    return start, end, step


def _slice(b: Builder, x: str, parts: list) -> str:
    """``x`` sliced by the slice and int parts that select less than everything."""
    chosen = [(axis, _slice_bounds(part)) for axis, part in enumerate(parts)
              if isinstance(part, int) or (isinstance(part, slice) and part != slice(None))]
    if not chosen:
        return x
    axes = [axis for axis, _ in chosen]
    starts, ends, steps = zip(*(bounds for _, bounds in chosen), strict=True)
    return b.op("Slice", x, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps))


def _basic(b: Builder, x: str, parts: list) -> str:
    x = _slice(b, x, parts)
    dropped = [axis for axis, part in enumerate(parts) if isinstance(part, int)]
    return b.squeeze(x, dropped) if dropped else x


def _advanced(b: Builder, x: str, ndim: int, parts: list) -> str:
    """Index tensors (and ints) gathered by GatherND; slices applied first."""
    x = _slice(b, x, [p if isinstance(p, slice) else slice(None) for p in parts])
    axes, indices = [], []  # the axes indexed by tensors, and an int64 index for each
    axis = 0
    for part in parts:
        if isinstance(part, slice):
            axis += 1
            continue
        if isinstance(part, _Tensor) and part.dtype == np.bool_:
            positions = b.op("NonZero", part.name)  # (mask dims, count)
            for row in range(part.ndim):
                axes.append(axis + row)
                indices.append(b.op("Gather", positions, b.scalar(row, np.int64), axis=0))
            axis += part.ndim
            continue
        axes.append(axis)
        indices.append(_int64(b, part))  # (GatherND counts negative ones from the end)
        axis += 1
    if len(indices) > 1:  # broadcast them together: their sum has the common shape
        total = indices[0]
        for index in indices[1:]:
            total = b.op("Add", total, index)
        common = b.shape(total)
        indices = [b.op("Expand", index, common) for index in indices]
    stacked = [b.unsqueeze(index, [-1]) for index in indices]
    stacked = stacked[0] if len(stacked) == 1 else b.op("Concat", *stacked, axis=-1)
    kept = [a for a in range(ndim) if a not in axes]
    order = axes + kept
    if order != sorted(order):
        x = b.op("Transpose", x, perm=order)
    out = b.op("GatherND", x, stacked, batch_dims=0)
    # NumPy puts the indexed dimensions where the index tensors were when they are next to
    # each other, and first otherwise (GatherND puts them first).
    first = axes[0]
    if axes == list(range(first, first + len(axes))) and first > 0:
        rank = max(_rank(p) for p in parts if not isinstance(p, slice))
        perm = [*range(rank, rank + first), *range(rank),
                *range(rank + first, rank + len(kept))]
        out = b.op("Transpose", out, perm=perm)
    return out


def _rank(part) -> int:
    if isinstance(part, int):
        return 0
    return 1 if part.dtype == np.bool_ else part.ndim


def _int64(b: Builder, part) -> str:
    if isinstance(part, int):
        return b.scalar(part, np.int64)
    return part.name if part.dtype == np.int64 else b.cast(part.name, np.int64)


def _tensors(b: Builder, nodes, names) -> list[_Tensor]:
    return [_Tensor(name, tuple(node.shape), node.dtype)
            for node, name in zip(nodes, names, strict=True)]


def _getitem(b: Builder, node: Node, args: list) -> str:
    return apply_index(b, args[0], node.inputs[0].ndim, node.attrs["index"], [])


def _index(b: Builder, node: Node, args: list) -> str:
    tensors = _tensors(b, node.inputs[1:], args[1:])
    return apply_index(b, args[0], node.inputs[0].ndim, node.attrs["template"], tensors)


def _index_scatter(b: Builder, node: Node, args: list) -> str:
    """Zeros of the indexed shape with ``g`` written (or added) at the positions the index
    selects: those positions are the index applied to 0, 1, 2, ... in that shape."""
    attrs = node.attrs
    if attrs["accumulate"] and b.opset < 16:
        raise Unsupported("index_scatter that adds up repeated positions needs ONNX opset 16 "
                          "(ScatterElements with reduction='add')")
    index_nodes, index_args = node.inputs[1:], args[1:]
    if attrs["shape"] is None:  # the last input is the indexed value, for its shape
        index_nodes, index_args = index_nodes[:-1], index_args[:-1]
        shape = b.shape(args[-1])
        ndim = node.inputs[-1].ndim
    else:
        shape = b.ints(attrs["shape"])
        ndim = len(attrs["shape"])
    count = b.reduce("ReduceProd", shape, None, False)
    iota = b.op("Range", b.scalar(0, np.int64), count, b.scalar(1, np.int64))
    positions = apply_index(b, b.op("Reshape", iota, shape), ndim, attrs["template"],
                            _tensors(b, index_nodes, index_args))
    updates = b.op("Expand", args[0], b.shape(positions))
    flat = b.ints([-1])
    zeros = b.full(b.unsqueeze(count, [0]), 0, node.dtype)
    scattered = b.op("ScatterElements", zeros, b.op("Reshape", positions, flat),
                     b.op("Reshape", updates, flat), axis=0,
                     reduction="add" if attrs["accumulate"] else None)
    return b.op("Reshape", scattered, shape)


def _as_vector(b: Builder, node: Node, name: str) -> str:
    """A 0-D value as shape (1,): GatherElements and ScatterElements need a dimension."""
    return b.op("Reshape", name, b.ints([1])) if node.ndim == 0 else name


def _gather(b: Builder, node: Node, args: list) -> str:
    x, index = node.inputs
    out = b.op("GatherElements", _as_vector(b, x, args[0]), _as_vector(b, index, args[1]),
               axis=node.attrs["axis"] % max(x.ndim, 1))
    return b.op("Reshape", out, b.ints([])) if node.ndim == 0 else out


def _scatter_add(b: Builder, node: Node, args: list) -> str:
    if b.opset < 16:
        raise Unsupported("scatter_add needs ONNX opset 16 (ScatterElements with "
                          "reduction='add')")
    base, index, src = node.inputs
    updates = args[2]
    if tuple(src.shape) != tuple(index.shape):  # only src's leading part is added
        updates = b.op("Slice", updates, b.ints([0] * index.ndim), b.shape(args[1]))
    return b.op("ScatterElements", args[0], args[1], updates,
                axis=node.attrs["axis"] % max(base.ndim, 1), reduction="add")


INDEXING = {
    "getitem": _getitem, "index": _index, "index_scatter": _index_scatter,
    "gather": _gather, "scatter_add": _scatter_add,
}
