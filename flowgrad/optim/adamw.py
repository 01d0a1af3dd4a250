"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from flowgrad.optim.adam import Adam
from flowgrad.optim.optimizer import ParamsT


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): each step first shrinks
    the parameter by ``lr * weight_decay``, outside the adaptive scaling. The update rule is
    :class:`Adam`'s with ``decoupled_weight_decay=True``; the default decay is ``1e-2``.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = fg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()  # w * (1 - 0.1 * 0.5), then about lr against the gradient's sign
    >>> w
    tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(self, params: ParamsT | None = None, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
