"""Reshaping layers: :class:`Flatten` merges dimensions, :class:`Unflatten` splits one."""

from __future__ import annotations

import math

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one (by default all but the batch).

    >>> import flowgrad as fg
    >>> fg.nn.Flatten()(fg.zeros(32, 1, 5, 5)).shape
    (32, 25)
    >>> fg.nn.Flatten(0, 2)
    Flatten(start_dim=0, end_dim=2)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (one entry may be -1).

    >>> import flowgrad as fg
    >>> fg.nn.Unflatten(1, (2, 5, 5))(fg.zeros(2, 50)).shape
    (2, 2, 5, 5)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(unflattened_size, tuple | list) or not all(
                isinstance(d, int) and not isinstance(d, bool) for d in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        shape = tuple(input.shape)
        sizes = tuple(self.unflattened_size)
        if not self._fits(shape, sizes):
            raise ShapeError(at_user_site(
                f"{self!r}: cannot split dimension {self.dim} of an input of shape {shape} "
                f"into {sizes}"
            ))
        return input.unflatten(self.dim, sizes)

    def _fits(self, shape: tuple, sizes: tuple) -> bool:
        if not -len(shape) <= self.dim < len(shape):
            return False
        size = shape[self.dim]
        if size is None:  # a graph's size known at run time: reshape checks it then
            return True
        known = math.prod(d for d in sizes if d != -1)
        if -1 in sizes:
            return known > 0 and size % known == 0
        return size == known

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
