"""Adam: adaptive moment estimation, with AMSGrad and (coupled or decoupled) weight decay."""

from __future__ import annotations

from typing import Any

from flowgrad import functions as F
from flowgrad.optim.optimizer import Optimizer, ParamsT, advance, step_counter
from flowgrad.tensor import Tensor


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), with PyTorch's algorithm and defaults.

    ``m`` and ``v`` are running averages of the gradient and of its square; the step is
    ``lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected ``m_hat``, ``v_hat``. ``amsgrad``
    uses the running maximum of ``v``. ``weight_decay`` adds ``weight_decay * p`` to the
    gradient (L2), or, with ``decoupled_weight_decay=True`` (see :class:`AdamW`), shrinks
    the parameter by ``lr * weight_decay`` directly.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = fg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()  # the first step moves each weight by about lr
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT | None = None, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": step_counter(), "exp_avg": F.zeros_like(param),
                 "exp_avg_sq": F.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = F.zeros_like(param)
        return state

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        step = advance(state["step"])
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            max_exp_avg_sq.copy_(F.maximum(max_exp_avg_sq, exp_avg_sq))
            exp_avg_sq = max_exp_avg_sq
        # p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with sqrt(bc2) moved out of the
        # denominator: the same number, one pass over memory fewer.
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        denom = exp_avg_sq.sqrt().add_(group["eps"] * bias_correction2_sqrt)
        param.addcdiv_(exp_avg, denom, value=-lr * bias_correction2_sqrt / bias_correction1)
