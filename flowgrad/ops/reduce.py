"""Reduction primitives over ``axes`` (a sorted tuple, or None for all) with ``keepdim``."""

from __future__ import annotations

import functools
import math

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import BOOL, reduced_shape, shape_of

INT64 = np.dtype(np.int64)


def _rule(op: str, result_dtype=None, nonempty: bool = False):
    def rule(x, axes, keepdim):
        shape = shape_of(x)
        if nonempty:
            reduced = range(len(shape)) if axes is None else axes
            if any(shape[a] == 0 for a in reduced):
                raise ShapeError(at_user_site(
                    f"{op}: cannot reduce an empty dimension of a tensor of shape {shape} "
                    f"(the operation has no identity); pass dim= over non-empty dimensions"
                ))
        dtype = np.dtype(x.dtype) if result_dtype is None else result_dtype
        return reduced_shape(shape, axes, keepdim), dtype

    return rule


def _keep(g, ctx):
    """``g`` with the reduced axes put back as size-1 dimensions."""
    shape = ctx.in_shapes[0]
    if ctx.attrs["keepdim"]:
        return g
    return g.reshape(reduced_shape(shape, ctx.attrs["axes"], True))


def _sum_vjp(ctx, g):
    if ctx.attrs["axes"] is None and not ctx.attrs["keepdim"]:
        return (g.expand(ctx.in_shapes[0]),)  # a scalar broadcasts as it is
    return (_keep(g, ctx).expand(ctx.in_shapes[0]),)


def _extremum_vjp(ctx, g):
    # The gradient is shared evenly between tied extrema, as PyTorch's amax/amin do.
    (x,) = ctx.inputs
    axes = ctx.attrs["axes"]
    out = ctx.output
    if not ctx.attrs["keepdim"]:
        out = out.reshape(reduced_shape(ctx.in_shapes[0], axes, True))
    mask = (x == out).to(g.dtype)
    return (_keep(g, ctx) * mask / mask.sum(dim=axes, keepdim=True),)


def _prod_vjp(ctx, g):
    # d prod / d x_i = product of the other elements, computed without dividing by zero.
    (x,) = ctx.inputs
    axes = ctx.attrs["axes"]
    is_zero = x == 0
    zeros = is_zero.to(x.dtype).sum(dim=axes, keepdim=True)
    nonzero_product = x.where(~is_zero, 1).prod(dim=axes, keepdim=True)
    others = (nonzero_product / x.where(~is_zero, 1)).where(zeros == 0, 0)
    others = others + nonzero_product.where(zeros == 1, 0).where(is_zero, 0)
    return (_keep(g, ctx) * others,)


def _arg_kernel(fn):
    def kernel(x, axes, keepdim):
        axis = None if axes is None else axes[0]
        return fn(x, axis=axis, keepdims=keepdim)

    return kernel


def _arg_rule(op: str):
    rule = _rule(op, INT64, nonempty=True)

    def arg_rule(x, axes, keepdim):
        if axes is None and keepdim:
            return tuple(1 for _ in shape_of(x)), INT64
        return rule(x, axes, keepdim)

    return arg_rule


def _ufunc_reduce(ufunc):
    # ufunc.reduce directly: np.sum and friends add a Python layer on every call.
    return lambda x, axes, keepdim: ufunc.reduce(x, axis=axes, keepdims=keepdim)


def _reduce_lowering(ufunc):
    # In generated graph code: ufunc.reduce with the axes bound, no Python layer at all.
    return lambda axes, keepdim: functools.partial(ufunc.reduce, axis=axes, keepdims=keepdim)


sum_ = Primitive("sum", _ufunc_reduce(np.add), _rule("sum"), _sum_vjp,
                 lower=_reduce_lowering(np.add))
prod = Primitive("prod", _ufunc_reduce(np.multiply), _rule("prod"), _prod_vjp, save_inputs=(0,),
                 lower=_reduce_lowering(np.multiply))
amax = Primitive("amax", _ufunc_reduce(np.maximum), _rule("amax", nonempty=True), _extremum_vjp,
                 save_inputs=(0,), save_output=True, lower=_reduce_lowering(np.maximum))
amin = Primitive("amin", _ufunc_reduce(np.minimum), _rule("amin", nonempty=True), _extremum_vjp,
                 save_inputs=(0,), save_output=True, lower=_reduce_lowering(np.minimum))
all_ = Primitive("all", _ufunc_reduce(np.logical_and), _rule("all", BOOL),
                 lower=_reduce_lowering(np.logical_and))
any_ = Primitive("any", _ufunc_reduce(np.logical_or), _rule("any", BOOL),
                 lower=_reduce_lowering(np.logical_or))


def _count_kernel(x, axes, dtype):
    if type(x) is not np.ndarray:
        raise TypeError("count reads an array's shape")  # a graph node: bind builds a node
    shape = x.shape
    return np.array(math.prod(shape if axes is None else (shape[a] for a in axes)), dtype=dtype)


# How many elements a reduction over ``axes`` combines, as a value: what ``mean`` divides by
# when a graph's shapes are known only at run time.
count = Primitive("count", _count_kernel, lambda x, axes, dtype: ((), np.dtype(dtype)))
argmax = Primitive("argmax", _arg_kernel(np.argmax), _arg_rule("argmax"))
argmin = Primitive("argmin", _arg_kernel(np.argmin), _arg_rule("argmin"))
