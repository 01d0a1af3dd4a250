"""Indexing primitives: basic ``getitem`` (views), advanced ``index`` (copies), the scatter
that is their gradient, and ``gather`` / ``scatter_add`` along one dimension.

Index tensors are inputs (not attributes), so graph mode can feed them at run time; the rest
of an index (ints, slices, None, Ellipsis) is the ``template``, with :data:`SLOT` where an
index tensor goes. The scatter's output shape is an attribute, or, where a graph knows it only
at run time (``shape=None``), the shape of its last input, the indexed value itself.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.elementwise import zeros_of
from flowgrad.ops.rules import broadcast_shapes, is_dynamic, normalize_axis, shape_of
from flowgrad.ops.shape import pad


class _Slot:
    """Marks where an index tensor goes in a template."""

    def __repr__(self) -> str:
        return "SLOT"


SLOT = _Slot()

# Index parts whose shape NumPy can work out on a stand-in array; a graph's index tensors
# are nodes, and their dimensions go where _SLOT_DIMS marks while the shape is worked out.
_CONCRETE = (int, slice, type(None), type(Ellipsis), np.ndarray)
_SLOT_DIMS = object()


def fill_template(template: tuple, arrays) -> tuple:
    it = iter(arrays)
    return tuple(next(it) if part is SLOT else part for part in template)


def _indexed_shape(op: str, x, index: tuple) -> tuple:
    """Shape of ``x[index]`` by NumPy's rules, using a zero-stride stand-in (no memory); in a
    graph (sizes or index tensors known only at run time), worked out from the shapes."""
    shape = shape_of(x)
    if None in shape or not all(isinstance(part, _CONCRETE) for part in index):
        return _symbolic_indexed_shape(op, shape, index)
    stand_in = np.broadcast_to(np.empty((), dtype=np.bool_), shape)
    try:
        return stand_in[index].shape
    except IndexError as exc:
        raise IndexError(at_user_site(f"{op}: {exc} (tensor shape {shape})")) from None


def _is_index_tensor(part) -> bool:
    return not isinstance(part, int | slice | type(None) | type(Ellipsis))


def _symbolic_indexed_shape(op: str, shape: tuple, index: tuple) -> tuple:
    """NumPy's indexing rules on shapes alone: a dimension of unknown size stays unknown, and
    so does the number of elements a boolean index tensor of a graph selects."""

    def fail(message: str) -> IndexError:
        return IndexError(at_user_site(f"{op}: {message} (tensor shape {shape})"))

    def width(part) -> int:  # how many dimensions of x the part indexes
        if part is None or part is Ellipsis:
            return 0
        if _is_index_tensor(part) and np.dtype(part.dtype) == np.bool_:
            return len(shape_of(part))
        return 1

    ellipses = sum(part is Ellipsis for part in index)
    rest = len(shape) - sum(width(part) for part in index)
    if rest < 0 or ellipses > 1:
        raise fail(f"too many indices ({len(index)}) for {len(shape)} dimensions")
    parts = []
    for part in index:
        parts.extend([slice(None)] * rest if part is Ellipsis else [part])
    if not ellipses:
        parts.extend([slice(None)] * rest)
    advanced = any(_is_index_tensor(part) for part in parts)
    out, broadcast, positions, dim = [], [], [], 0
    for part in parts:
        if part is None:
            out.append(1)
            continue
        if isinstance(part, slice):
            size = shape[dim]
            out.append(None if size is None else len(range(*part.indices(size))))
            dim += 1
            continue
        if isinstance(part, int):
            size = shape[dim]
            if size is not None and not -size <= part < size:
                raise fail(f"index {part} is out of bounds for dimension {dim} with size {size}")
            dim += 1
            if not advanced:  # basic indexing: the dimension goes
                continue
            broadcast.append(())  # with index tensors, an int is one more (0-D) of them
        elif np.dtype(part.dtype) == np.bool_:
            mask = shape_of(part)
            covered = shape[dim:dim + len(mask)]
            if any(a is not None and b is not None and a != b
                   for a, b in zip(mask, covered, strict=True)):
                raise fail(f"boolean index of shape {mask} does not match dimensions "
                           f"{dim}..{dim + len(mask) - 1} of sizes {covered}")
            selected = int(np.count_nonzero(part)) if isinstance(part, np.ndarray) else None
            broadcast.append((selected,))
            dim += len(mask)
        else:
            broadcast.append(shape_of(part))
            dim += 1
        positions.append(len(out))
        out.append(_SLOT_DIMS)
    if not broadcast:
        return tuple(out)
    selected = broadcast_shapes(op, *broadcast)
    kept = [d for d in out if d is not _SLOT_DIMS]
    if positions == list(range(positions[0], positions[0] + len(positions))):
        # Index tensors next to each other: their dimensions replace theirs, in place.
        return (*kept[:positions[0]], *selected, *kept[positions[0]:])
    return (*selected, *kept)  # separated: NumPy puts their dimensions first


def _getitem_rule(x, index):
    return _indexed_shape("getitem", x, index), np.dtype(x.dtype)


def _scatter_to(g, indices, shape, template, accumulate: bool):
    """``index_scatter`` of ``g`` into zeros of the indexed input's ``shape``; a graph that
    knows that shape only at run time passes the input (``shape.source``) for it."""
    if type(shape) is tuple:
        return index_scatter.bind(g, *indices, shape=shape, template=template,
                                  accumulate=accumulate)
    from flowgrad.tensor import Tensor

    return index_scatter.bind(g, *indices, Tensor._wrap(shape.source), shape=None,
                              template=template, accumulate=accumulate)


def _getitem_vjp(ctx, g):
    return (_scatter_to(g, (), ctx.in_shapes[0], ctx.attrs["index"], False),)


getitem = Primitive("getitem", lambda x, index: x[index], _getitem_rule, _getitem_vjp,
                    view=True)


def _index_rule(x, *indices, template):
    for part in indices:
        if np.dtype(part.dtype).kind not in "biu":
            raise IndexError(at_user_site(
                f"index: tensors used as indices must be integer or bool, got {part.dtype}"
            ))
    return _indexed_shape("index", x, fill_template(template, indices)), np.dtype(x.dtype)


def _index_vjp(ctx, g):
    indices = ctx.inputs[1:]
    return (_scatter_to(g, indices, ctx.in_shapes[0], ctx.attrs["template"], True),
            *(None for _ in indices))


index = Primitive("index", lambda x, *indices, template: x[fill_template(template, indices)],
                  _index_rule, _index_vjp, save_inputs=slice(1, None))


def _scatter_kernel(g, *indices, shape, template, accumulate):
    if shape is None:  # the last input is the indexed value, for its run-time shape
        *indices, like = indices
        shape = like.shape
    out = np.zeros(shape, dtype=g.dtype)
    where = fill_template(template, indices)
    if accumulate:
        np.add.at(out, where, g)  # repeated indices add up
    else:
        out[where] = g
    return out


def _scatter_rule(g, *indices, shape, template, accumulate):
    return (shape_of(indices[-1]) if shape is None else tuple(shape)), np.dtype(g.dtype)


def _scatter_vjp(ctx, g):
    indices = ctx.inputs[1:]
    template = ctx.attrs["template"]
    tensors = indices[:-1] if ctx.attrs["shape"] is None else indices  # not the shape's input
    if tensors:
        grad = index.bind(g, *tensors, template=template)
    else:
        grad = getitem.bind(g, index=template)
    return (grad, *(None for _ in indices))


index_scatter = Primitive("index_scatter", _scatter_kernel, _scatter_rule, _scatter_vjp,
                          save_inputs=slice(1, None))


def _along_axis(index: np.ndarray, axis: int) -> tuple:
    """The full NumPy index that picks ``index`` along ``axis`` and everything elsewhere."""
    ndim = index.ndim
    grids = [
        index if i == axis else np.arange(n).reshape((1,) * i + (n,) + (1,) * (ndim - i - 1))
        for i, n in enumerate(index.shape)
    ]
    return tuple(grids)


def _check_gather(op: str, x_shape: tuple, index, axis: int) -> int:
    index_shape = shape_of(index)
    axis = normalize_axis(op, axis, len(x_shape))
    if np.dtype(index.dtype).kind not in "iu":
        raise IndexError(at_user_site(f"{op}: index must be an integer tensor, got "
                                      f"{index.dtype}"))
    if len(index_shape) != len(x_shape) or any(
        i != axis and a is not None and b is not None and a > b
        for i, (a, b) in enumerate(zip(index_shape, x_shape, strict=True))
    ):
        raise ShapeError(at_user_site(
            f"{op}: index of shape {index_shape} does not fit a tensor of shape {x_shape} along "
            f"dimension {axis} (same number of dimensions, no larger outside dimension {axis})"
        ))
    return axis


def _gather_kernel(x, index, axis):
    return x[_along_axis(index, axis % max(x.ndim, 1))]  # a 0-D x: dimension 0 is x itself


def _gather_rule(x, index, axis):
    _check_gather("gather", shape_of(x), index, axis)
    return shape_of(index), np.dtype(x.dtype)


def _gather_vjp(ctx, g):
    index_tensor = ctx.inputs[1]
    zeros = zeros_of(g, ctx.in_shapes[0])
    return scatter_add.bind(zeros, index_tensor, g, axis=ctx.attrs["axis"]), None


gather = Primitive("gather", _gather_kernel, _gather_rule, _gather_vjp, save_inputs=(1,))


def _scatter_add_kernel(base, index, src, axis):
    out = np.array(base, copy=True)
    np.add.at(out, _along_axis(index, axis % max(base.ndim, 1)),
              src[tuple(slice(n) for n in index.shape)])
    return out


def _scatter_add_rule(base, index, src, axis):
    _check_gather("scatter_add", shape_of(base), index, axis)
    return shape_of(base), np.dtype(base.dtype)


def _scatter_add_vjp(ctx, g):
    index_tensor = ctx.inputs[1]
    need_base, _, need_src = ctx.needs_grad
    grad_src = None
    if need_src:
        grad_src = gather.bind(g, index_tensor, axis=ctx.attrs["axis"])
        src_shape = ctx.in_shapes[2]
        if grad_src.shape != src_shape and not (is_dynamic(src_shape)
                                                 or is_dynamic(grad_src.shape)):
            widths = tuple((0, s - i) for s, i in zip(src_shape, grad_src.shape, strict=True))
            grad_src = pad.bind(grad_src, widths=widths, value=0)
    return (g if need_base else None), None, grad_src


scatter_add = Primitive("scatter_add", _scatter_add_kernel, _scatter_add_rule,
                        _scatter_add_vjp, save_inputs=(1,))
