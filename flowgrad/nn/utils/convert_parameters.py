"""Flatten parameters into one vector and back (for second-order optimisers, line searches
and parameter averaging)."""

from __future__ import annotations

from collections.abc import Iterable

from flowgrad import functions as F
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable).

    >>> import flowgrad as fg
    >>> layer = [fg.nn.Parameter(fg.ones(2, 2)), fg.nn.Parameter(fg.zeros(1))]
    >>> fg.nn.utils.parameters_to_vector(layer)
    tensor([1., 1., 1., 1., 0.], grad_fn=<ConcatBackward>)
    """
    return F.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D tensor ``vec`` into ``parameters`` (their values are
    replaced; the inverse of :func:`parameters_to_vector`).

    >>> import flowgrad as fg
    >>> params = [fg.nn.Parameter(fg.zeros(2)), fg.nn.Parameter(fg.zeros(1))]
    >>> fg.nn.utils.vector_to_parameters(fg.tensor([1.0, 2.0, 3.0]), params)
    >>> params[0]
    Parameter containing:
    tensor([1., 2.], requires_grad=True)
    """
    if not isinstance(vec, Tensor):
        raise TypeError(at_user_site(
            f"vector_to_parameters: vec must be a Tensor, got {type(vec).__name__}"
        ))
    parameters = list(parameters)
    needed = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != needed:
        raise ShapeError(at_user_site(
            f"vector_to_parameters: vec must be a 1-D tensor with {needed} elements (one per "
            f"parameter element), got shape {tuple(vec.shape)}"
        ))
    start = 0
    for param in parameters:
        count = param.numel()
        param.data = vec[start:start + count].reshape(param.shape).to(param.dtype).detach()
        start += count
