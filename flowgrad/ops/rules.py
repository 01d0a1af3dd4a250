"""Shape and dtype rules shared by the primitives.

An *aval* is anything with ``.shape`` and ``.dtype`` (a NumPy array, or a symbolic value in
graph mode whose unknown dimensions are ``None``). Rules return ``(shape, numpy dtype)`` and
raise :class:`ShapeError` / :class:`DTypeError` with the operation's name, the shapes as Python
tuples, what was expected, and the user's line.
"""

from __future__ import annotations

import numpy as np

from flowgrad.errors import DTypeError, ShapeError, at_user_site

BOOL = np.dtype(np.bool_)


def shape_of(aval) -> tuple:
    return tuple(aval.shape)


class DynamicShape(tuple):
    """The static shape of a graph value with unknown (``None``) dimensions, which knows
    that value (``source``): an operation asked for "this shape" (a gradient rule expanding
    or reshaping back to its input's shape) then takes the sizes from it at run time."""

    def __new__(cls, dims, source) -> DynamicShape:
        shape = super().__new__(cls, dims)
        shape.source = source
        return shape


class UnknownShape:
    """The shape of a graph value whose rank is unknown too; like :class:`DynamicShape`, it
    knows the value (``source``)."""

    def __init__(self, source) -> None:
        self.source = source

    def __repr__(self) -> str:
        return "(?)"


def is_dynamic(shape) -> bool:
    """Whether a shape is known only at run time (some dimension, or the rank, unknown)."""
    return shape is None or isinstance(shape, UnknownShape) or None in shape


def shapes_agree(a: tuple, b: tuple) -> bool:
    """Whether two shapes can be one at run time: same rank, and equal sizes wherever both
    are known (an unknown ``None`` size agrees with any)."""
    if a == b:
        return True
    return len(a) == len(b) and all(
        x == y or x is None or y is None for x, y in zip(a, b, strict=True)
    )


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """NumPy broadcasting of several shapes; ``None`` (unknown) dims stay unknown."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-ndim, 0):
        sizes = [s[axis] if len(s) >= -axis else 1 for s in shapes]
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            listed = " and ".join(str(tuple(s)) for s in shapes)
            raise ShapeError(at_user_site(
                f"{op}: shapes {listed} cannot be broadcast together (dimension {axis} has "
                f"sizes {sizes}; sizes must be equal or 1)"
            ))
        if known:
            result.append(known.pop())
        elif None in sizes:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def same_dtype(op: str, *avals) -> np.dtype:
    dtype = avals[0].dtype
    for aval in avals[1:]:
        if aval.dtype != dtype:
            raise DTypeError(at_user_site(
                f"{op}: inputs must have one dtype (the caller promotes them), got "
                f"{', '.join(str(a.dtype) for a in avals)}"
            ))
    return np.dtype(dtype)


def unary(op: str):
    """Rule of a shape- and dtype-preserving elementwise op."""

    def rule(x, **attrs):
        return shape_of(x), np.dtype(x.dtype)

    return rule


def unary_float(op: str):
    """Rule of an elementwise op defined on floating-point input only."""

    def rule(x, **attrs):
        if np.dtype(x.dtype).kind != "f":
            raise DTypeError(at_user_site(
                f"{op}: expected a floating-point tensor, got {x.dtype}; convert it with "
                f".float() first"
            ))
        return shape_of(x), np.dtype(x.dtype)

    return rule


def binary(op: str, result_dtype: np.dtype | None = None, kinds: str | None = None):
    """Rule of a broadcasting binary op: same input dtypes; output dtype given or the input's."""

    def rule(a, b, **attrs):
        dtype = same_dtype(op, a, b)
        if kinds is not None and dtype.kind not in kinds:
            raise DTypeError(at_user_site(
                f"{op}: not defined for {dtype} tensors (expected {_kind_names(kinds)})"
            ))
        shape = broadcast_shapes(op, shape_of(a), shape_of(b))
        return shape, (result_dtype if result_dtype is not None else dtype)

    return rule


def _kind_names(kinds: str) -> str:
    names = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "floating-point"}
    return " or ".join(names[k] for k in kinds)


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """A possibly negative axis as a non-negative one, or a ShapeError naming the op.

    As in PyTorch, a 0-D tensor accepts dimension 0 and -1.
    """
    if ndim is None:
        raise ShapeError(at_user_site(
            f"{op}: dimension {axis} of a graph value of unknown rank; give the placeholder a "
            f"shape (None for sizes known only at run time)"
        ))
    bound = max(ndim, 1)
    if not -bound <= axis < bound:
        raise ShapeError(at_user_site(
            f"{op}: dimension {axis} is out of range for a tensor with {ndim} dimensions "
            f"(expected a value in [{-bound}, {bound - 1}])"
        ))
    return axis % ndim if ndim else 0


def normalize_axes(op: str, dim, ndim: int) -> tuple[int, ...] | None:
    """``dim`` (None, int, or sequence) as a sorted tuple of axes; None means all axes."""
    if dim is None:
        return None
    if isinstance(dim, int | np.integer):
        return (normalize_axis(op, int(dim), ndim),)
    axes = tuple(sorted(normalize_axis(op, int(d), ndim) for d in dim))
    if len(set(axes)) != len(axes):
        raise ShapeError(at_user_site(f"{op}: dimension repeated in dim={tuple(dim)}"))
    return axes if axes else None


def reduced_shape(shape: tuple, axes: tuple[int, ...] | None, keepdim: bool) -> tuple:
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdim:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)
