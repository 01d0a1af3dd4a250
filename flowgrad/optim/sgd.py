"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

from flowgrad import functions as F
from flowgrad.optim.optimizer import Optimizer, ParamsT, advance, step_counter
from flowgrad.tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's algorithm and defaults).

    With momentum ``m`` the step is ``p -= lr * b`` where ``b = m * b + (1 - dampening) * g``
    (the first ``b`` is ``g``); Nesterov uses ``g + m * b`` instead of ``b``. ``weight_decay``
    adds ``weight_decay * p`` to the gradient first.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = fg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> w  # w0 - 0.1 * 2 * w0 = 0.8 * w0, then 0.8 * w0 - 0.1 * (0.9 * 2 + 1.6) * w0
    tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    def __init__(self, params: ParamsT | None = None, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def graph_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # Eager SGD starts its buffer lazily at the first gradient; a graph needs it up front:
        # zeros, and a step count so that the first step still takes the whole gradient.
        if group["momentum"] == 0:
            return {}
        return {"momentum_buffer": F.zeros_like(param), "step": step_counter()}

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # the first step starts the buffer at the gradient
                buffer = state["momentum_buffer"] = grad.clone()
            elif "step" in state:  # graph mode: the zero buffer takes all of the first gradient
                first = advance(state["step"]) == 1
                keep = F.where(first, 1.0, 1.0 - group["dampening"]).to(grad.dtype)
                buffer.mul_(momentum).add_(grad * keep)
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buffer, alpha=momentum) if group["nesterov"] else buffer
        param.add_(grad, alpha=-group["lr"])
