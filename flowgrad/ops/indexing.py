"""Indexing primitives: basic ``getitem`` (views), advanced ``index`` (copies), the scatter
that is their gradient, and ``gather`` / ``scatter_add`` along one dimension.

Index tensors are inputs (not attributes), so graph mode can feed them at run time; the rest
of an index (ints, slices, None, Ellipsis) is the ``template``, with :data:`SLOT` where an
index tensor goes.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import normalize_axis, shape_of
from flowgrad.ops.shape import pad


class _Slot:
    """Marks where an index tensor goes in a template."""

    def __repr__(self) -> str:
        return "SLOT"


SLOT = _Slot()


def fill_template(template: tuple, arrays) -> tuple:
    it = iter(arrays)
    return tuple(next(it) if part is SLOT else part for part in template)


def _indexed_shape(op: str, x, index: tuple) -> tuple:
    """Shape of ``x[index]`` by NumPy's rules, using a zero-stride stand-in (no memory)."""
    stand_in = np.broadcast_to(np.empty((), dtype=np.bool_), shape_of(x))
    try:
        return stand_in[index].shape
    except IndexError as exc:
        raise IndexError(at_user_site(f"{op}: {exc} (tensor shape {shape_of(x)})")) from None


def _getitem_rule(x, index):
    return _indexed_shape("getitem", x, index), np.dtype(x.dtype)


def _getitem_vjp(ctx, g):
    return (index_scatter.bind(g, shape=ctx.in_shapes[0], template=ctx.attrs["index"],
                               accumulate=False),)


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
    return (index_scatter.bind(g, *indices, shape=ctx.in_shapes[0],
                               template=ctx.attrs["template"], accumulate=True),
            *(None for _ in indices))


index = Primitive("index", lambda x, *indices, template: x[fill_template(template, indices)],
                  _index_rule, _index_vjp, save_inputs=slice(1, None))


def _scatter_kernel(g, *indices, shape, template, accumulate):
    out = np.zeros(shape, dtype=g.dtype)
    where = fill_template(template, indices)
    if accumulate:
        np.add.at(out, where, g)  # repeated indices add up
    else:
        out[where] = g
    return out


def _scatter_rule(g, *indices, shape, template, accumulate):
    return tuple(shape), np.dtype(g.dtype)


def _scatter_vjp(ctx, g):
    indices = ctx.inputs[1:]
    template = ctx.attrs["template"]
    if indices:
        return (index.bind(g, *indices, template=template), *(None for _ in indices))
    return (getitem.bind(g, index=template),)


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
    zeros = g.new_zeros(ctx.in_shapes[0])
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
        if grad_src.shape != src_shape:
            widths = tuple((0, s - i) for s, i in zip(src_shape, grad_src.shape, strict=True))
            grad_src = pad.bind(grad_src, widths=widths, value=0)
    return (g if need_base else None), None, grad_src


scatter_add = Primitive("scatter_add", _scatter_add_kernel, _scatter_add_rule,
                        _scatter_add_vjp, save_inputs=(1,))
