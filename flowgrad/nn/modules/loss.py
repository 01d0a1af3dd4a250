"""Loss layers: each holds its settings (and class weights, as buffers) and calls the function
of the same name in :mod:`flowgrad.nn.functional`."""

from __future__ import annotations

from flowgrad.nn import functional as F
from flowgrad.nn.functional.loss import legacy_reduction
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    """Base of the loss layers: holds ``reduction`` ('mean', 'sum' or 'none')."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional ``weight`` tensor, registered as a buffer (so it follows
    ``state_dict()`` and ``.to()``), as in PyTorch."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: ``F.mse_loss(input, target)``.

    >>> import flowgrad as fg
    >>> fg.nn.MSELoss()(fg.tensor([1.0, 2.0]), fg.tensor([1.0, 0.0]))
    tensor(2.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: ``F.l1_loss(input, target)``.

    >>> import flowgrad as fg
    >>> fg.nn.L1Loss(reduction="sum")(fg.tensor([1.0, -2.0]), fg.tensor([0.0, 0.0]))
    tensor(3.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above: ``F.smooth_l1_loss``.

    >>> import flowgrad as fg
    >>> fg.nn.SmoothL1Loss(beta=1.0)(fg.tensor([0.5, 3.0]), fg.tensor([0.0, 0.0]))
    tensor(1.3125)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta``, ``delta`` times absolute error above: ``F.huber_loss``.

    >>> import flowgrad as fg
    >>> fg.nn.HuberLoss(delta=2.0)(fg.tensor([0.5, 3.0]), fg.tensor([0.0, 0.0]))
    tensor(2.0625)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities: ``F.binary_cross_entropy``.

    >>> import flowgrad as fg
    >>> fg.nn.BCELoss()(fg.tensor([0.5, 0.9]), fg.tensor([1.0, 1.0]))
    tensor(0.3993)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on raw scores, numerically stable:
    ``F.binary_cross_entropy_with_logits``. ``weight`` and ``pos_weight`` are buffers.

    >>> import flowgrad as fg
    >>> loss_fn = fg.nn.BCEWithLogitsLoss(pos_weight=fg.tensor([2.0]))
    >>> loss_fn(fg.tensor([0.0, 0.0]), fg.tensor([1.0, 0.0]))
    tensor(1.0397)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities: ``F.nll_loss``.

    >>> import flowgrad as fg
    >>> log_probs = fg.tensor([[0.25, 0.75], [0.5, 0.5]]).log()
    >>> fg.nn.NLLLoss()(log_probs, fg.tensor([1, 0]))
    tensor(0.4904)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of unnormalised scores against class indices or class probabilities:
    ``F.cross_entropy`` (``log_softmax`` and ``nll_loss`` in one).

    >>> import flowgrad as fg
    >>> loss_fn = fg.nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss_fn(fg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), fg.tensor([0, 2]))
    tensor(0.7357)
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``:
    ``F.kl_div``; use ``reduction='batchmean'`` for the true divergence.

    >>> import flowgrad as fg
    >>> loss_fn = fg.nn.KLDivLoss(reduction="batchmean")
    >>> loss_fn(fg.tensor([[0.5, 0.5]]).log(), fg.tensor([[0.25, 0.75]]))
    tensor(0.1308)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
