"""Shape functions: reshape and friends, permute/transpose, expand/repeat, cat/stack/split."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions._convert import as_tensor_like, promote_all
from flowgrad.ops import shape as S
from flowgrad.ops.indexing import getitem
from flowgrad.ops.rules import DynamicShape, UnknownShape, normalize_axis, shapes_agree
from flowgrad.tensor import Tensor


def sizes_from(args: tuple):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape ``(2, 3)``; a graph value's shape
    known only at run time (:class:`~flowgrad.ops.rules.DynamicShape`) stays as it is, and
    a single unknown (``None``) dimension means -1."""
    if len(args) == 1 and isinstance(args[0], DynamicShape | UnknownShape):
        return args[0]
    dims = args[0] if len(args) == 1 and isinstance(args[0], Sequence | np.ndarray) else args
    unknown = sum(d is None for d in dims)
    if unknown == 1:
        dims = [-1 if d is None else d for d in dims]
    elif unknown > 1:
        raise ShapeError(at_user_site(
            f"reshape: the new shape {tuple(dims)} has {unknown} sizes known only when the "
            f"graph runs; a graph reshape can leave one size unknown (-1). Give the others "
            f"as numbers, or trace with fewer unknown dimensions (dynamic_batch leaves one)"
        ))
    return tuple(int(d) for d in dims)


def _like(shape) -> Tensor:
    """The graph value a run-time shape belongs to, as an input to an operation."""
    return Tensor._wrap(shape.source)


def reshape(input, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1); a view when possible."""
    x = as_tensor_like(input)
    target = sizes_from(shape)
    if isinstance(target, DynamicShape | UnknownShape):
        return S.reshape_to.bind(x, _like(target))
    resolved = S.infer_reshape("reshape", x._data.shape, target)
    # With a size known only at run time, the kernel gets the -1 to resolve then.
    return S.reshape.bind(x, shape=target if None in resolved else resolved)


view = reshape


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    x = as_tensor_like(input)
    shape = x._data.shape
    if not shape:
        return reshape(x, (1,))
    start = normalize_axis("flatten", start_dim, len(shape))
    end = normalize_axis("flatten", end_dim, len(shape))
    if start > end:
        raise ShapeError(at_user_site(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim}"
        ))
    merged = shape[start:end + 1]
    merged = None if None in merged else math.prod(merged)  # None: known at run time
    return reshape(x, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes``."""
    x = as_tensor_like(input)
    shape = x._data.shape
    axis = normalize_axis("unflatten", dim, len(shape))
    sizes = tuple(sizes)
    known = math.prod(d for d in sizes if d != -1)
    if -1 in sizes and shape[axis] is not None and known and shape[axis] % known == 0:
        # Resolved here, so a graph's other unknown dims can still be the one -1.
        sizes = tuple(shape[axis] // known if d == -1 else d for d in sizes)
    return reshape(x, shape[:axis] + sizes + shape[axis + 1:])


def squeeze(input, dim=None) -> Tensor:
    """Drop size-1 dimensions (all of them, or those in ``dim``, which may be a tuple)."""
    x = as_tensor_like(input)
    shape = x._data.shape
    if dim is None:
        axes = {i for i, d in enumerate(shape) if d == 1}  # a graph's None dims stay
    else:
        dims = dim if isinstance(dim, tuple | list) else (dim,)
        axes = {normalize_axis("squeeze", d, len(shape)) for d in dims}
        # A named dim of unknown size (None) goes; the graph checks its size is 1 at run time.
        axes = {a for a in axes if shape and shape[a] in (1, None)}
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


def unsqueeze(input, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (negative counts from the end of the result)."""
    x = as_tensor_like(input)
    shape = x._data.shape
    axis = normalize_axis("unsqueeze", dim, len(shape) + 1)
    return reshape(x, shape[:axis] + (1,) + shape[axis:])


def permute(input, *dims) -> Tensor:
    """Reorder dimensions; a view."""
    x = as_tensor_like(input)
    ndim = x._data.ndim
    order = tuple(normalize_axis("permute", d, ndim) for d in sizes_from(dims))
    if len(order) != ndim:
        raise ShapeError(at_user_site(
            f"permute: got {len(order)} dims {order} for a tensor of shape {x._data.shape}"
        ))
    return S.permute.bind(x, dims=order)


def transpose(input, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions; a view."""
    x = as_tensor_like(input)
    ndim = x._data.ndim
    if ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    order = list(range(ndim))
    a = normalize_axis("transpose", dim0, ndim)
    b = normalize_axis("transpose", dim1, ndim)
    order[a], order[b] = order[b], order[a]
    return S.permute.bind(x, dims=tuple(order))


swapaxes = transpose


def t(input) -> Tensor:
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    x = as_tensor_like(input)
    if x._data.ndim > 2:
        raise ShapeError(at_user_site(
            f"t: expects a tensor with at most 2 dimensions, got shape {x._data.shape}; use "
            f".transpose(dim0, dim1) or .mT"
        ))
    return x if x._data.ndim < 2 else transpose(x, 0, 1)


def movedim(input, source: int, destination: int) -> Tensor:
    x = as_tensor_like(input)
    ndim = x._data.ndim
    order = list(range(ndim))
    src = order.pop(normalize_axis("movedim", source, ndim))
    order.insert(normalize_axis("movedim", destination, ndim), src)
    return S.permute.bind(x, dims=tuple(order))


def expand(input, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; ``-1`` keeps a dimension's size."""
    x = as_tensor_like(input)
    target = sizes_from(sizes)
    if isinstance(target, DynamicShape | UnknownShape):
        return S.expand_to.bind(x, _like(target))
    shape = x._data.shape
    lead = len(target) - len(shape)
    resolved = tuple(
        shape[i - lead] if d == -1 and i >= lead else d for i, d in enumerate(target)
    )
    if any(d is not None and d < 0 for d in resolved):
        raise ShapeError(at_user_site(
            f"expand: -1 is only allowed for existing dimensions; got {target} for shape "
            f"{shape}"
        ))
    if resolved == shape:
        return x
    if None in resolved:  # a graph's dims of unknown size keep their run-time sizes
        return S.expand_to.bind(x, _expanded_like(x, resolved))
    return S.broadcast_to.bind(x, shape=resolved)


def _expanded_like(x: Tensor, shape: tuple) -> Tensor:
    """A graph value of ``shape``, whose None dims take their sizes from ``x`` at run time:
    zeros of ``x``'s shape broadcast against zeros of the known sizes."""
    from flowgrad.graph.build import full_like_node

    known = np.zeros(tuple(1 if d is None else d for d in shape), dtype=x._data.dtype)
    return full_like_node(x, 0) + Tensor._wrap(known)


def broadcast_to(input, shape) -> Tensor:
    return expand(input, tuple(shape))


def expand_as(input, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_tensors(*tensors) -> tuple[Tensor, ...]:
    from flowgrad.ops.rules import broadcast_shapes

    xs = [as_tensor_like(t) for t in tensors]
    shape = broadcast_shapes("broadcast_tensors", *(x._data.shape for x in xs))
    return tuple(expand(x, shape) for x in xs)


def repeat(input, *repeats) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along each dimension (PyTorch's ``repeat``)."""
    x = as_tensor_like(input)
    counts = sizes_from(repeats)
    shape = x._data.shape
    if len(counts) < len(shape):
        raise ShapeError(at_user_site(
            f"repeat: {len(counts)} repeat counts for a tensor with {len(shape)} dimensions; "
            f"give at least one count per dimension"
        ))
    shape = (1,) * (len(counts) - len(shape)) + shape
    interleaved = tuple(v for pair in zip((1,) * len(shape), shape, strict=True) for v in pair)
    tiled = tuple(v for pair in zip(counts, shape, strict=True) for v in pair)
    x = reshape(x, interleaved)
    x = expand(x, tiled)
    return reshape(x, tuple(None if d is None else c * d
                            for c, d in zip(counts, shape, strict=True)))


def repeat_interleave(input, repeats: int, dim: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when None)."""
    x = as_tensor_like(input)
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    shape = x._data.shape
    axis = normalize_axis("repeat_interleave", dim, len(shape))
    x = unsqueeze(x, axis + 1)
    x = expand(x, shape[:axis + 1] + (repeats,) + shape[axis + 1:])
    size = None if shape[axis] is None else shape[axis] * repeats
    return reshape(x, shape[:axis] + (size,) + shape[axis + 1:])


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension.

    >>> import flowgrad as fg
    >>> fg.cat([fg.zeros(1, 2), fg.ones(2, 2)]).shape
    (3, 2)
    """
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence):
        raise TypeError("cat: expected a list or tuple of tensors")
    xs = promote_all(*tensors)
    if not xs:
        raise ShapeError(at_user_site("cat: expected a non-empty list of tensors"))
    return S.concat.bind(*xs, axis=int(dim))  # a copy even of a single tensor, as PyTorch


concat = concatenate = cat


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dimension."""
    xs = promote_all(*tensors)
    if not xs:
        raise ShapeError(at_user_site("stack: expected a non-empty list of tensors"))
    first = xs[0]._data.shape
    for index, x in enumerate(xs):
        if not shapes_agree(x._data.shape, first):
            raise ShapeError(at_user_site(
                f"stack: tensor {index} has shape {x._data.shape} but tensor 0 has shape "
                f"{first}; stack needs equal shapes"
            ))
    axis = normalize_axis("stack", dim, len(first) + 1)
    return cat([unsqueeze(x, axis) for x in xs], axis)


def split(input, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    x = as_tensor_like(input)
    axis = normalize_axis("split", dim, x._data.ndim)
    length = x._data.shape[axis]
    if isinstance(split_size_or_sections, int | np.integer):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        length = _known_length("split", x, axis)
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if length is not None and sum(sizes) != length:
            raise ShapeError(at_user_site(
                f"split: sizes {sizes} add up to {sum(sizes)}, but dimension {dim} "
                f"has size {length}"
            ))
    lead = (slice(None),) * axis
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem.bind(x, index=(*lead, slice(start, start + size))))
        start += size
    return tuple(pieces)



def chunk(input, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller), as PyTorch."""
    x = as_tensor_like(input)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = normalize_axis("chunk", dim, x._data.ndim)
    length = _known_length("chunk", x, axis)
    return split(x, max(-(-length // chunks), 1), dim)


def unbind(input, dim: int = 0) -> tuple[Tensor, ...]:
    """Remove a dimension, returning the slices along it."""
    x = as_tensor_like(input)
    axis = normalize_axis("unbind", dim, x._data.ndim)
    lead = (slice(None),) * axis
    length = _known_length("unbind", x, axis)
    return tuple(getitem.bind(x, index=(*lead, i)) for i in range(length))


def _known_length(op: str, x: Tensor, axis: int) -> int:
    """The size of dimension ``axis``, which decides how many pieces ``op`` makes: a graph
    must know it when it is built."""
    length = x._data.shape[axis]
    if length is None:
        raise ShapeError(at_user_site(
            f"{op}: dimension {axis} of shape {x._data.shape} has a size known only at run "
            f"time, but the number of pieces depends on it; give that dimension a fixed size, "
            f"or split it into explicit sizes"
        ))
    return length


def flip(input, dims) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    x = as_tensor_like(input)
    axes = {normalize_axis("flip", d, x._data.ndim)
            for d in (dims if isinstance(dims, tuple | list) else (dims,))}
    index = tuple(slice(None, None, -1) if i in axes else slice(None)
                  for i in range(x._data.ndim))
    return getitem.bind(x, index=index)


def pad(input, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding, widths given PyTorch-style from the last dimension backwards."""
    x = as_tensor_like(input)
    if len(pad) % 2 or len(pad) // 2 > x._data.ndim:
        raise ShapeError(at_user_site(
            f"pad: expected an even number of widths, at most two per dimension of shape "
            f"{x._data.shape}; got {tuple(pad)}"
        ))
    widths = [(0, 0)] * x._data.ndim
    for i in range(len(pad) // 2):
        widths[x._data.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return S.pad.bind(x, widths=tuple(widths), value=value)
