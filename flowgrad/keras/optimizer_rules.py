"""The flowgrad optimizers behind the Keras ones: :mod:`flowgrad.optim` classes whose
``update`` is Keras's arithmetic, with Keras's clipping and decoupled weight decay around it
(see :mod:`flowgrad.keras.optimizers`)."""

from __future__ import annotations

from typing import Any

from flowgrad import functions as fn
from flowgrad.autograd import enable_grad, no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.optim import SGD as TorchSGD
from flowgrad.optim import Adam as TorchAdam
from flowgrad.optim import RMSprop as TorchRMSprop
from flowgrad.optim.optimizer import advance, step_counter
from flowgrad.optim.tensorflow_rules import adam_update, rmsprop_update
from flowgrad.tensor import Tensor


class KerasRule:
    """What every Keras update shares, mixed into a :mod:`flowgrad.optim` class whose
    ``update`` is Keras's rule: clip the gradients, decay the weights, then update."""

    clipnorm: float | None = None
    clipvalue: float | None = None
    global_clipnorm: float | None = None

    def step(self, closure=None):
        """Update every parameter that has a gradient (``.grad``)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self.apply([(param, param.grad, group) for group in self.param_groups
                    for param in group["params"] if param.grad is not None])
        return loss

    def apply(self, updates: list[tuple[Tensor, Tensor, dict]]) -> None:
        """One step from ``(parameter, gradient, group)`` triples."""
        for param, grad, _ in updates:
            if tuple(grad.shape) != tuple(param.shape):
                raise ShapeError(at_user_site(
                    f"{type(self).__name__}: a parameter of shape {tuple(param.shape)} got a "
                    f"gradient of shape {tuple(grad.shape)}; they must have the same shape"))
        with no_grad():
            grads = self.clip([grad for _, grad, _ in updates])
            for (param, _, group), grad in zip(updates, grads, strict=True):
                state = self.state[param]
                if not state:
                    state.update(self.init_state(param, group))
                if group["weight_decay"] and group.get("decay", True):
                    param.mul_(1 - group["lr"] * group["weight_decay"])
                self.update(param, grad, state, group)

    def clip(self, grads: list[Tensor]) -> list[Tensor]:
        """Keras's clipping, one kind at most: each gradient to norm ``clipnorm``, all of
        them together to norm ``global_clipnorm``, or each value to ``[-clipvalue,
        clipvalue]``."""
        if self.clipnorm:
            return [g * (self.clipnorm / g.square().sum().sqrt().clamp(min=self.clipnorm))
                    for g in grads]
        if self.global_clipnorm and grads:
            norm = sum(g.square().sum() for g in grads).sqrt()
            scale = self.global_clipnorm / norm.clamp(min=self.global_clipnorm)
            return [g * scale.to(g.dtype) for g in grads]
        if self.clipvalue:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def graph_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return self.init_state(param, group)


class SGDRule(KerasRule, TorchSGD):
    """Keras SGD: ``m = momentum * m - lr * g``; ``p += m`` (Nesterov:
    ``p += momentum * m - lr * g``); without momentum ``p -= lr * g``."""

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": step_counter()}
        if group["momentum"]:
            state["momentum_buffer"] = fn.zeros_like(param)
        return state

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        advance(state["step"])
        lr, momentum = group["lr"], group["momentum"]
        if not momentum:
            param.add_(grad, alpha=-lr)
            return
        buffer = state["momentum_buffer"]
        buffer.mul_(momentum).add_(grad, alpha=-lr)
        if group["nesterov"]:
            param.add_(buffer, alpha=momentum).add_(grad, alpha=-lr)
        else:
            param.add_(buffer)


class AdamRule(KerasRule, TorchAdam):
    """Keras Adam: ``m``, ``v`` as usual, then
    ``p -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``."""

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        adam_update(param, grad, state, group)


class RMSpropRule(KerasRule, TorchRMSprop):
    """Keras RMSprop: ``v = rho * v + (1 - rho) * g**2``; the increment is
    ``lr * g / sqrt(v + epsilon)`` (centered: ``v - mean_g**2 + epsilon``), accumulated
    with ``momentum`` when it is set."""

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        state["step"].add_(1)  # the step count Keras reports as iterations
        rmsprop_update(param, grad, state, group)
