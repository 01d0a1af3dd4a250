"""Adam's and RMSprop's updates as TensorFlow computes them, where its arithmetic differs
from PyTorch's. TF-1's ``tf.train`` (:mod:`flowgrad.compat.v1.train`) and Keras
(:mod:`flowgrad.keras.optimizers`) both use them, each around its own state and hooks.

- Adam: ``p -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps)``: epsilon
  is added before the bias correction (PyTorch adds it after); ``amsgrad`` keeps the
  largest ``v`` seen.
- RMSprop: ``v = alpha * v + (1 - alpha) * g**2``, the step ``lr * g / sqrt(v + eps)``
  (epsilon inside the root; centred: ``v - mean(g)**2 + eps``), and with momentum the
  buffer accumulates steps already scaled by the learning rate.
"""

from __future__ import annotations

from typing import Any

from flowgrad import functions as F
from flowgrad.optim.optimizer import advance
from flowgrad.tensor import Tensor


def adam_update(param: Tensor, grad: Tensor, state: dict[str, Any],
                group: dict[str, Any]) -> None:
    beta1, beta2 = group["betas"]
    step = advance(state["step"])
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if group.get("amsgrad"):
        exp_avg_sq = state["max_exp_avg_sq"].copy_(
            F.maximum(state["max_exp_avg_sq"], exp_avg_sq))
    step_size = group["lr"] * (1 - beta2**step) ** 0.5 / (1 - beta1**step)
    param.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(group["eps"]), value=-step_size)


def rmsprop_update(param: Tensor, grad: Tensor, state: dict[str, Any],
                   group: dict[str, Any]) -> None:
    decay, momentum, lr = group["alpha"], group["momentum"], group["lr"]
    square_avg = state["square_avg"]
    square_avg.mul_(decay).addcmul_(grad, grad, value=1 - decay)
    if group["centered"]:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - decay)
        denominator = square_avg.addcmul(grad_avg, grad_avg, value=-1).add_(group["eps"])
    else:
        denominator = square_avg.add(group["eps"])
    denominator.sqrt_()
    if momentum > 0:
        buffer = state["momentum_buffer"]
        buffer.mul_(momentum).addcdiv_(grad, denominator, value=lr)
        param.sub_(buffer)
    else:
        param.addcdiv_(grad, denominator, value=-lr)
