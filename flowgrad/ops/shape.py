"""Shape primitives: reshape, permute, broadcast_to, concat, pad.

reshape, permute and broadcast_to return views where NumPy can (they share the input's
version counter, so in-place changes through either are seen by autograd's checks).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import normalize_axis, same_dtype, shape_of, shapes_agree


def infer_reshape(op: str, shape: tuple, target: tuple) -> tuple:
    """Resolve one ``-1`` in ``target`` and check the element counts agree."""
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1:
        raise ShapeError(at_user_site(f"{op}: only one dimension can be -1, got {target}"))
    if any(d is not None and d < -1 for d in target):
        raise ShapeError(at_user_site(f"{op}: invalid shape {target} (negative dimension)"))
    if None in shape or None in target:
        return tuple(None if d == -1 else d for d in target)  # symbolic: checked at run time
    total = math.prod(shape)
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if known == 0 or total % known:
            raise ShapeError(at_user_site(
                f"{op}: cannot reshape a tensor of shape {shape} ({total} elements) into "
                f"shape {target}"
            ))
        target = tuple(total // known if d == -1 else d for d in target)
    elif known != total:
        raise ShapeError(at_user_site(
            f"{op}: cannot reshape a tensor of shape {shape} ({total} elements) into shape "
            f"{target} ({known} elements)"
        ))
    return tuple(target)


def _reshape_rule(x, shape):
    return infer_reshape("reshape", shape_of(x), tuple(shape)), np.dtype(x.dtype)


reshape = Primitive("reshape", np.reshape, _reshape_rule,
                    lambda ctx, g: (g.reshape(ctx.in_shapes[0]),), view=True)


# -- to the shape of another value, known at run time (graph mode) --------------------------


def _sum_to_kernel(g, *like, shape):
    target = like[0].shape if like else shape
    if g.shape == target:  # nothing was broadcast (the usual case at run time)
        return g
    lead = g.ndim - len(target)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(target)
                                      if d == 1 and g.shape[lead + i] != 1)
    return np.add.reduce(g, axis=axes, keepdims=True).reshape(target) if axes else g


def _like_rule(g, *like, shape=None):
    return (shape_of(like[0]) if like else tuple(shape)), np.dtype(g.dtype)


# The inverse of broadcasting, to ``like``'s shape (or a static ``shape``): what a broadcast
# input's gradient becomes when the graph knows its shape only at run time.
sum_to = Primitive("sum_to", _sum_to_kernel, _like_rule,
                   lambda ctx, gg: (gg.expand(ctx.in_shapes[0]), None), view=True)
def _expand_to_kernel(g, like):
    return g if g.shape == like.shape else np.broadcast_to(g, like.shape)


expand_to = Primitive("expand_to", _expand_to_kernel, _like_rule,
                      lambda ctx, gg: (gg, None), view=True)  # the engine sums gg back
reshape_to = Primitive("reshape_to", lambda g, like: g.reshape(like.shape), _like_rule,
                       lambda ctx, gg: (gg.reshape(ctx.in_shapes[0]), None), view=True)


def _permute_rule(x, dims):
    shape = shape_of(x)
    if sorted(dims) != list(range(len(shape))):
        raise ShapeError(at_user_site(
            f"permute: dims {tuple(dims)} is not a permutation of the {len(shape)} dimensions "
            f"of a tensor of shape {shape}"
        ))
    return tuple(shape[d] for d in dims), np.dtype(x.dtype)


def _permute_vjp(ctx, g):
    return (g.permute(tuple(np.argsort(ctx.attrs["dims"]).tolist())),)


def _permute_kernel(x, dims):
    # A matrix transpose (a weight in every Linear) as the attribute: 0.2 us, not 1.2.
    return x.T if dims == (1, 0) else x.transpose(dims)


def _permute_lowering(dims):
    # In generated code: the attribute (or method) itself, not a Python function around it.
    return operator.attrgetter("T") if dims == (1, 0) else operator.methodcaller(
        "transpose", dims)


permute = Primitive("permute", _permute_kernel, _permute_rule, _permute_vjp, view=True,
                    lower=_permute_lowering)


def _broadcast_rule(x, shape):
    source = shape_of(x)
    if len(shape) < len(source):
        raise ShapeError(at_user_site(
            f"expand: the target shape {tuple(shape)} has fewer dimensions than the tensor's "
            f"shape {source}"
        ))
    for axis in range(1, len(source) + 1):
        have, want = source[-axis], shape[-axis]
        if have != want and have != 1 and have is not None and want is not None:
            raise ShapeError(at_user_site(
                f"expand: cannot expand shape {source} to {tuple(shape)}: dimension "
                f"{len(shape) - axis} has size {have}, which must equal {want} or be 1"
            ))
    return tuple(shape), np.dtype(x.dtype)


# The gradient is the incoming one: autograd sums it back to the input's shape.
broadcast_to = Primitive("broadcast_to", np.broadcast_to, _broadcast_rule,
                         lambda ctx, g: (g,), view=True)


def _concat_rule(*xs, axis):
    if not xs:
        raise ShapeError(at_user_site("cat: expected a non-empty sequence of tensors"))
    dtype = same_dtype("cat", *xs)
    first = shape_of(xs[0])
    axis = normalize_axis("cat", axis, len(first))
    out = list(first)
    total = 0
    for index, x in enumerate(xs):
        shape = shape_of(x)
        if not shapes_agree(shape[:axis] + shape[axis + 1:], first[:axis] + first[axis + 1:]):
            raise ShapeError(at_user_site(
                f"cat: tensor {index} has shape {shape}, which does not match shape {first} "
                f"of tensor 0 outside dimension {axis}"
            ))
        # A size known in any input is the size (a graph's None dims agree with it).
        out = [d if d is not None else s for d, s in zip(out, shape, strict=True)]
        total = None if total is None or shape[axis] is None else total + shape[axis]
    out[axis] = total
    return tuple(out), dtype


def _concat_vjp(ctx, g):
    axis = ctx.attrs["axis"] % g.ndim
    sizes = [shape[axis] for shape in ctx.in_shapes]
    if sizes.count(None) > 1:
        raise ShapeError(at_user_site(
            f"gradient of cat: inputs of sizes {sizes} along dimension {axis}; with more than "
            f"one size known only at run time the pieces of the gradient cannot be found"
        ))
    # In a graph, the pieces after one of unknown size (None) are cut from the end.
    unknown = sizes.index(None) if None in sizes else len(sizes)
    grads, start = [], 0
    lead = (slice(None),) * axis
    for i, (size, needed) in enumerate(zip(sizes, ctx.needs_grad, strict=True)):
        if i < unknown:
            piece = slice(start, start + size)
            start += size
        else:
            after = sum(sizes[i + 1:])
            first = start if i == unknown else -(after + size)
            piece = slice(0, 0) if size == 0 else slice(first, -after if after else None)
        grads.append(g[(*lead, piece)] if needed else None)
    return tuple(grads)


concat = Primitive("concat", lambda *xs, axis: np.concatenate(xs, axis=axis), _concat_rule,
                   _concat_vjp)


def _pad_rule(x, widths, value):
    shape = shape_of(x)
    if len(widths) != len(shape) or any(b < 0 or a < 0 for b, a in widths):
        raise ShapeError(at_user_site(
            f"pad: expected one non-negative (before, after) pair per dimension of shape "
            f"{shape}, got {tuple(widths)}"
        ))
    return tuple(None if d is None else d + b + a for d, (b, a) in zip(shape, widths,
                                                                        strict=True)), \
        np.dtype(x.dtype)


def _pad_vjp(ctx, g):
    index = tuple(slice(before, -after or None) for before, after in ctx.attrs["widths"])
    return (g[index],)


pad = Primitive("pad", lambda x, widths, value: np.pad(x, widths, constant_values=value),
                _pad_rule, _pad_vjp)


# (These four may return their first input itself, or a view of it: ``view=True``.)
# ``x``, once ``effects`` have run: in a graph, what ties a module's in-place updates of its
# buffers (batch norm's running statistics) to its output, so computing the output makes them.
after = Primitive("after", lambda x, *effects: x,
                  lambda x, *effects: (shape_of(x), np.dtype(x.dtype)),
                  lambda ctx, g: (g, *(None for _ in ctx.next[1:])), view=True)
