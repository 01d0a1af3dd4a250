"""Normalisation layers: batch norm (with running statistics), layer norm, group norm and
local response norm, each a thin layer over :mod:`flowgrad.nn.functional.normalization`."""

from __future__ import annotations

from flowgrad import dtypes
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import empty, ones, tensor, zeros
from flowgrad.nn import init
from flowgrad.nn.functional.normalization import (
    as_normalized_shape,
    batch_norm,
    check_batch_statistics,
    check_channels,
    check_normalized_shape,
    group_norm,
    layer_norm,
    local_response_norm,
    rms_norm,
)
from flowgrad.nn.module import Module
from flowgrad.tensor import Parameter, Tensor

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "RMSNorm",
    "LocalResponseNorm",
]


def _affine_parameters(layer: Module, affine: bool, bias: bool, shape: tuple, dtype) -> None:
    """Register ``weight`` (and ``bias`` unless ``bias=False``), or None for both."""
    layer.register_parameter("weight", Parameter(empty(shape, dtype=dtype)) if affine else None)
    layer.register_parameter("bias", Parameter(empty(shape, dtype=dtype))
                             if affine and bias else None)


def _reset_affine(layer: Module) -> None:
    """The identity transform: weight 1, bias 0."""
    if layer.weight is not None:
        init.ones_(layer.weight)
    if layer.bias is not None:
        init.zeros_(layer.bias)


class _BatchNorm(Module):
    """Shared by ``BatchNorm1d/2d/3d``; they differ only in the input ranks they accept."""

    _ranks: tuple[int, ...] = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, affine, bias, (self.num_features,), dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self._ranks:
            raise ShapeError(at_user_site(
                f"{self._name()}: expected {' or '.join(f'{r}-D' for r in self._ranks)} input "
                f"{self._layout}, got shape {tuple(input.shape)}"
            ))
        check_channels(self._name(), input, self.num_features)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        use_batch_stats = self.training or self.running_mean is None
        if use_batch_stats:
            check_batch_statistics(self._name(), input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        # In training without tracked statistics there is nothing to update.
        keep = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if keep else None,
                          self.running_var if keep else None, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` input, per channel ``C``.

    Training normalises with the batch's statistics and moves ``running_mean``/``running_var``
    towards them by ``momentum`` (None: a cumulative average); ``eval()`` uses the running
    statistics.

    >>> import flowgrad as fg
    >>> bn = fg.nn.BatchNorm1d(3)
    >>> bn
    BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    >>> bn(fg.randn(8, 3)).shape
    (8, 3)
    >>> int(bn.num_batches_tracked)
    1
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` input, per channel ``C``.

    >>> import flowgrad as fg
    >>> bn = fg.nn.BatchNorm2d(4, momentum=None, affine=False)
    >>> bn(fg.randn(2, 4, 5, 5)).shape
    (2, 4, 5, 5)
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of ``(N, C, D, H, W)`` input, per channel ``C``.

    >>> import flowgrad as fg
    >>> fg.nn.BatchNorm3d(2)(fg.randn(2, 2, 3, 3, 3)).shape
    (2, 2, 3, 3, 3)
    """

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


class LayerNorm(Module):
    """Normalise over the last dimensions (``normalized_shape``) of each sample; then scale
    and shift elementwise (``elementwise_affine``; ``bias=False`` drops the shift).

    >>> import flowgrad as fg
    >>> ln = fg.nn.LayerNorm(10)
    >>> ln
    LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> ln(fg.randn(4, 10)).shape
    (4, 10)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = as_normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        check_normalized_shape(f"LayerNorm({self.normalized_shape})", input,
                                self.normalized_shape)
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise groups of channels of ``(N, C, *)`` input per sample; then scale and shift
    per channel (``affine``).

    >>> import flowgrad as fg
    >>> gn = fg.nn.GroupNorm(2, 6)
    >>> gn
    GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)
    >>> gn(fg.randn(3, 6, 4)).shape
    (3, 6, 4)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, affine, bias, (self.num_channels,), dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        check_channels(f"GroupNorm({self.num_groups}, {self.num_channels})", input,
                       self.num_channels)
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Divide by the root mean square over the last dimensions (``normalized_shape``), then
    scale elementwise; ``eps=None`` is the dtype's machine epsilon.

    >>> import flowgrad as fg
    >>> norm = fg.nn.RMSNorm(4)
    >>> norm
    RMSNorm((4,), eps=None, elementwise_affine=True)
    >>> norm(fg.full((1, 4), 2.0))
    tensor([[1., 1., 1., 1.]], grad_fn=<MulBackward>)
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = as_normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter("weight", Parameter(empty(self.normalized_shape, dtype=dtype))
                                if elementwise_affine else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        check_normalized_shape(f"RMSNorm({self.normalized_shape})", input,
                               self.normalized_shape)
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Normalise each value by the energy of ``size`` neighbouring channels (AlexNet).

    >>> import flowgrad as fg
    >>> fg.nn.LocalResponseNorm(2)
    LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
