"""RMSprop: steps scaled by a running average of squared gradients."""

from __future__ import annotations

from typing import Any

from flowgrad import functions as F
from flowgrad.optim.optimizer import Optimizer, ParamsT, step_counter
from flowgrad.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), with PyTorch's algorithm and defaults.

    ``v = alpha * v + (1 - alpha) * g**2``; the step is ``lr * g / (sqrt(v) + eps)``.
    ``centered`` subtracts the square of the running mean gradient from ``v`` (an estimate of
    the variance); ``momentum`` accumulates the scaled steps in a buffer.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = fg.optim.RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward()
    >>> opt.step()  # v = 0.25 * g**2, so each weight moves by lr / sqrt(0.25)
    >>> w
    tensor([ 0.9800, -1.9800], requires_grad=True)
    """

    def __init__(self, params: ParamsT | None = None, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": step_counter(), "square_avg": F.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = F.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = F.zeros_like(param)
        return state

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        alpha, weight_decay, momentum = group["alpha"], group["weight_decay"], group["momentum"]
        state["step"].add_(1)  # counted as in PyTorch (RMSprop's rule does not use it)
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg.add_(group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer.mul_(momentum).addcdiv_(grad, avg)
            param.add_(buffer, alpha=-group["lr"])
        else:
            param.addcdiv_(grad, avg, value=-group["lr"])
