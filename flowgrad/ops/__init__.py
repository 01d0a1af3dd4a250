"""The primitive operations: each declared once (kernel, shape/dtype rule, gradient rule).

Everything else (mean, var, softmax, losses, layers) is composed from these in
:mod:`flowgrad.functions` and above.
"""

from flowgrad.ops import (
    elementwise,
    indexing,
    linalg,
    nn,
    random,
    reduce,
    shape,
    softmax,
    special,
)
from flowgrad.ops.base import Primitive

PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for module in (elementwise, reduce, shape, indexing, linalg, nn, softmax, special, random)
    for p in vars(module).values()
    if isinstance(p, Primitive)
}

__all__ = [
    "PRIMITIVES", "Primitive", "elementwise", "indexing", "linalg", "nn", "random", "reduce",
    "shape", "softmax", "special",
]
