"""Linear-algebra primitives: ``matmul`` (batched, broadcasting, 1-D rules of NumPy) and
``einsum`` (explicit equations; the Tensor layer expands ``...`` and implicit outputs)."""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.engine import sum_to_shape
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import broadcast_shapes, same_dtype, shape_of


def _matmul_rule(a, b):
    dtype = same_dtype("matmul", a, b)
    a_shape, b_shape = shape_of(a), shape_of(b)
    if not a_shape or not b_shape:
        raise ShapeError(at_user_site(
            f"matmul: both operands need at least one dimension, got shapes {a_shape} and "
            f"{b_shape}; use * to multiply by a scalar"
        ))
    a2 = (1, *a_shape) if len(a_shape) == 1 else a_shape
    b2 = (*b_shape, 1) if len(b_shape) == 1 else b_shape
    if a2[-1] is not None and b2[-2] is not None and a2[-1] != b2[-2]:
        raise ShapeError(at_user_site(
            f"matmul: shapes {a_shape} and {b_shape} do not match: the last dimension of the "
            f"first ({a2[-1]}) must equal the {'only' if len(b_shape) == 1 else 'second-to-last'}"
            f" dimension of the second ({b2[-2]})"
        ))
    batch = broadcast_shapes("matmul", a2[:-2], b2[:-2])
    shape = (*batch, a2[-2], b2[-1])
    if len(a_shape) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b_shape) == 1:
        shape = shape[:-1]
    return shape, dtype


def _matmul_vjp(ctx, g):
    need_a, need_b = ctx.needs_grad
    a_shape, b_shape = ctx.in_shapes
    # Each gradient reads only the other operand, so an operand that needs no gradient may be
    # modified in place after the forward (a reused input batch, say).
    a = ctx.input(0) if need_b else None
    b = ctx.input(1) if need_a else None
    # Treat 1-D operands as matrices: a row for the first, a column for the second. The column
    # goes first: for vector @ vector, g is 0-D and must become (1,) before (1, 1).
    a_matrix, b_matrix = a_shape, b_shape
    if len(b_shape) == 1:
        b_matrix = (*b_shape, 1)
        b = None if b is None else b.unsqueeze(-1)
        g = g.unsqueeze(-1)
    if len(a_shape) == 1:
        a_matrix = (1, *a_shape)
        a = None if a is None else a.unsqueeze(0)
        g = g.unsqueeze(-2)
    grad_a = _restore(g @ b.mT, a_matrix, a_shape) if need_a else None
    grad_b = _restore(a.mT @ g, b_matrix, b_shape) if need_b else None
    return grad_a, grad_b


def _restore(grad, matrix_shape: tuple, shape: tuple):
    """Sum over broadcast batch dimensions, then drop the axis a 1-D operand was given."""
    if len(shape) == 1 and None in shape:  # a vector of a graph, its length known at run time
        lead = tuple(range(grad.ndim - 2))
        return (grad.sum(dim=lead) if lead else grad).reshape(shape)
    grad = sum_to_shape(grad, matrix_shape)
    return grad if matrix_shape == shape else grad.reshape(shape)


matmul = Primitive("matmul", np.matmul, _matmul_rule, _matmul_vjp, save_inputs=(0, 1))


def parse_equation(equation: str) -> tuple[list[str], str]:
    """Split an explicit equation ``"ij,jk->ik"`` into input and output subscripts."""
    inputs, output = equation.split("->")
    return inputs.split(","), output


def _einsum_rule(*operands, equation):
    dtype = same_dtype("einsum", *operands)
    inputs, output = parse_equation(equation)
    sizes: dict[str, int] = {}
    for position, (subscripts, operand) in enumerate(zip(inputs, operands, strict=True)):
        shape = shape_of(operand)
        if len(subscripts) != len(shape):
            raise ShapeError(at_user_site(
                f"einsum: operand {position} has shape {shape} but subscripts "
                f"'{subscripts}' name {len(subscripts)} dimensions"
            ))
        for letter, size in zip(subscripts, shape, strict=True):
            # Sizes of one subscript broadcast, as in NumPy and PyTorch: equal, or 1.
            known = sizes.get(letter, 1)
            if known == 1 or (known is None and size != 1):
                sizes[letter] = size
            elif size not in (1, None) and known != size:
                raise ShapeError(at_user_site(
                    f"einsum '{equation}': subscript '{letter}' has size {known} in one operand "
                    f"and {size} in operand {position} (shape {shape}); sizes must be equal or 1"
                ))
    return tuple(sizes[letter] for letter in output), dtype


def _einsum_vjp(ctx, g):
    operands = ctx.inputs
    inputs, output = parse_equation(ctx.attrs["equation"])
    grads = []
    for position in range(len(inputs)):
        if not ctx.needs_grad[position]:
            grads.append(None)
            continue
        grads.append(_einsum_operand_grad(g, operands, inputs, output, position,
                                          ctx.in_shapes[position]))
    return tuple(grads)


def _einsum_operand_grad(g, operands, inputs, output, position, shape):
    """d einsum / d operand[position]: another einsum of ``g`` with the other operands."""
    from flowgrad.tensor import Tensor

    used = set("".join(inputs)) | set(output)
    fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
    target, extra_subs, extra_ops, seen = [], [], [], set()
    for letter, size in zip(inputs[position], shape, strict=True):
        if letter in seen:  # a diagonal: route it through an identity matrix
            new = next(fresh)
            extra_subs.append(letter + new)
            extra_ops.append(Tensor._wrap(np.eye(size, dtype=g._data.dtype)))
            letter = new
        seen.add(letter)
        target.append(letter)
    others = [s for i, s in enumerate(inputs) if i != position]
    available = set(output).union(*others, *extra_subs)
    reduced = "".join(c for c in target if c in available)
    equation = ",".join([output, *others, *extra_subs]) + "->" + reduced
    other_ops = [op for i, op in enumerate(operands) if i != position]
    grad = einsum.bind(g, *other_ops, *extra_ops, equation=equation)
    if len(reduced) != len(target):  # letters summed away only in this operand: broadcast
        keep_shape = tuple(s if c in available else 1 for c, s in zip(target, shape,
                                                                          strict=True))
        grad = grad.reshape(keep_shape).expand(shape)
    return grad


def _einsum_kernel(*operands, equation):
    return np.einsum(equation, *operands, optimize=len(operands) > 1)


einsum = Primitive("einsum", _einsum_kernel, _einsum_rule, _einsum_vjp, save_inputs=slice(0, None))
