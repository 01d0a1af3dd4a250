"""Adagrad: per-coordinate steps scaled by the accumulated squared gradients."""

from __future__ import annotations

from typing import Any

from flowgrad import functions as F
from flowgrad.optim.optimizer import Optimizer, ParamsT, advance, step_counter
from flowgrad.tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with PyTorch's algorithm and defaults.

    ``s += g**2``; the step is ``clr * g / (sqrt(s) + eps)`` with the decayed learning rate
    ``clr = lr / (1 + (step - 1) * lr_decay)``.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = fg.optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()  # s = g**2: each weight moves by lr against the gradient's sign
    >>> w
    tensor([ 0.5000, -1.5000], requires_grad=True)
    """

    def __init__(self, params: ParamsT | None = None, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": step_counter(),
                "sum": F.full_like(param, group["initial_accumulator_value"])}

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        lr, lr_decay, weight_decay = group["lr"], group["lr_decay"], group["weight_decay"]
        step = advance(state["step"])
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        clr = lr / ((step - 1) * lr_decay + 1)
        state_sum = state["sum"]
        state_sum.addcmul_(grad, grad)
        std = state_sum.sqrt().add_(group["eps"])
        param.addcdiv_(grad, std, value=-clr)
