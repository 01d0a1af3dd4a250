"""Matrix products: ``matmul`` (``@``) with batching and broadcasting, and ``einsum``."""

from __future__ import annotations

import string

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions._convert import operands, promote_all
from flowgrad.ops import linalg as L
from flowgrad.ops.rules import shapes_agree
from flowgrad.tensor import Tensor


def matmul(input, other) -> Tensor:
    """Matrix product with NumPy's rules: batched, broadcasting, 1-D operands as vectors.

    >>> import flowgrad as fg
    >>> (fg.ones(2, 3) @ fg.ones(3)).tolist()
    [3.0, 3.0]
    """
    return L.matmul.bind(*operands(input, other))


def _fixed_rank_matmul(op: str, ndim: int, expected: str, input, other) -> Tensor:
    """``matmul`` restricted to operands of ``ndim`` dimensions (mm, bmm, dot)."""
    a, b = operands(input, other)
    if a._data.ndim != ndim or b._data.ndim != ndim or (
        ndim == 3 and not shapes_agree(a._data.shape[:1], b._data.shape[:1])
    ):
        raise ShapeError(at_user_site(
            f"{op}: expects {expected}, got shapes {a._data.shape} and {b._data.shape}"
        ))
    return L.matmul.bind(a, b)


def mm(input, mat2) -> Tensor:
    """Product of two matrices (2-D only)."""
    return _fixed_rank_matmul("mm", 2, "two matrices", input, mat2)


def bmm(input, mat2) -> Tensor:
    """Batched product of two 3-D tensors with the same batch size."""
    return _fixed_rank_matmul("bmm", 3, "(b, n, m) and (b, m, p) tensors", input, mat2)


def dot(input, other) -> Tensor:
    """Inner product of two 1-D tensors."""
    return _fixed_rank_matmul("dot", 1, "two 1-D tensors", input, other)


def outer(input, vec2) -> Tensor:
    """Outer product of two 1-D tensors."""
    a, b = operands(input, vec2)
    return a.reshape(-1, 1) * b.reshape(1, -1)


def einsum(equation: str, *operands_) -> Tensor:
    """Einstein summation, as ``numpy.einsum``/``torch.einsum`` (``...`` and implicit output
    allowed). Operands may also be passed as one list.

    >>> import flowgrad as fg
    >>> fg.einsum("ij,jk->ik", fg.ones(2, 3), fg.ones(3, 4)).shape
    (2, 4)
    """
    if len(operands_) == 1 and isinstance(operands_[0], list | tuple):
        operands_ = tuple(operands_[0])
    tensors = promote_all(*operands_)
    explicit = explicit_equation(equation, [t._data.ndim for t in tensors])
    return L.einsum.bind(*tensors, equation=explicit)


def explicit_equation(equation: str, ndims: list[int]) -> str:
    """Rewrite an einsum equation with ``...`` spelled out and an explicit output."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, rhs = equation.split("->")
    else:
        lhs, rhs = equation, None
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        raise ShapeError(at_user_site(
            f"einsum '{equation}': the equation names {len(inputs)} operands but "
            f"{len(ndims)} were given"
        ))
    used = set(lhs) - {".", ","}
    free = [c for c in string.ascii_letters if c not in used]
    ellipsis_rank = max(
        (ndim - len(s.replace("...", "")) for s, ndim in zip(inputs, ndims, strict=True)
         if "..." in s),
        default=0,
    )
    if ellipsis_rank < 0:
        raise ShapeError(at_user_site(f"einsum '{equation}': more subscripts than dimensions"))
    broadcast = "".join(free[:ellipsis_rank])
    spelled = []
    for subscripts, ndim in zip(inputs, ndims, strict=True):
        if "..." in subscripts:
            rank = ndim - len(subscripts.replace("...", ""))
            subscripts = subscripts.replace("...", broadcast[ellipsis_rank - rank:])
        spelled.append(subscripts)
    if rhs is None:
        counts = "".join(spelled)
        rhs = broadcast + "".join(sorted(c for c in set(counts) - set(broadcast)
                                         if counts.count(c) == 1))
    else:
        rhs = rhs.replace("...", broadcast)
    return ",".join(spelled) + "->" + rhs
