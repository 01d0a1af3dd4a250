"""Gradient clipping: scale or clip the ``.grad`` of parameters in place, between
``backward()`` and ``optimizer.step()``."""

from __future__ import annotations

import math
from collections.abc import Iterable

from flowgrad import functions as F
from flowgrad.autograd.mode import no_grad
from flowgrad.errors import at_user_site
from flowgrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(x: Tensor, norm_type: float) -> Tensor:
    """The ``norm_type``-norm of all elements of ``x`` (inf, -inf and 0 included)."""
    if norm_type == math.inf:
        return x.abs().amax()
    if norm_type == -math.inf:
        return x.abs().amin()
    if norm_type == 0:
        return (x != 0).sum().to(x.dtype)
    return F.norm(x, norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients seen as one vector; every gradient is multiplied
    by ``min(max_norm / (total_norm + 1e-6), 1)``. Returns the total norm (before clipping) as
    a tensor. ``foreach`` is accepted for PyTorch compatibility and ignored.

    >>> import flowgrad as fg
    >>> w = fg.nn.Parameter(fg.zeros(2))
    >>> w.grad = fg.tensor([3.0, 4.0])
    >>> fg.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return F.tensor(0.0)
    with no_grad():
        norms = [_vector_norm(g, norm_type) for g in grads]
        total_norm = _vector_norm(F.stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(total_norm.item()):
            raise RuntimeError(at_user_site(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                f"non-finite ({total_norm.item()}), so it cannot be clipped. To scale the "
                f"gradients by the non-finite norm anyway, pass error_if_nonfinite=False"
            ))
        scale = F.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return total_norm


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clip every gradient element to ``[-clip_value, clip_value]``, in place.

    >>> import flowgrad as fg
    >>> w = fg.nn.Parameter(fg.zeros(3))
    >>> w.grad = fg.tensor([-2.0, 0.5, 3.0])
    >>> fg.nn.utils.clip_grad_value_(w, 1.0)
    >>> w.grad
    tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
