"""Normalisation: ``batch_norm``, ``layer_norm``, ``group_norm``, ``local_response_norm`` and
``normalize``, composed from a handful of primitives each.

The statistics are over the reduced axes with the biased variance (as PyTorch normalises);
``batch_norm`` updates running statistics with the unbiased one. Per-channel factors are
combined on the small ``(C,)`` tensors first, so the full-size work is few passes, forward and
backward.
"""

from __future__ import annotations

import math

import numpy as np

from flowgrad import functions as fg
from flowgrad.autograd.mode import no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.ops import reduce as R
from flowgrad.tensor import Tensor

__all__ = [
    "batch_norm", "layer_norm", "group_norm", "rms_norm", "local_response_norm", "normalize",
]


def check_channels(who: str, input: Tensor, num_features: int) -> None:
    """A ShapeError naming ``who`` unless ``input`` is ``(N, num_features, *)``."""
    shape = tuple(input.shape)
    if len(shape) < 2 or shape[1] != num_features:
        got = f"{shape[1]} channels" if len(shape) >= 2 else "no channel dimension"
        raise ShapeError(at_user_site(
            f"{who}: input has {got} (shape {shape}), expected {num_features} in dimension 1 "
            f"of an input (N, {num_features}, ...)"
        ))


def check_batch_statistics(who: str, input: Tensor) -> None:
    """A ValueError unless each channel has more than one value to take statistics of."""
    shape = tuple(input.shape)
    if None not in shape and _values_per_channel(shape) <= 1:  # None: known at run time
        raise ValueError(at_user_site(
            f"{who}: expected more than 1 value per channel when training, got input of shape "
            f"{shape}; use a larger batch, or eval() mode"
        ))


def _values_per_channel(shape: tuple) -> int:
    return math.prod(shape[:1] + shape[2:])


def _channel_shape(input: Tensor) -> tuple[int, ...]:
    """Shape that broadcasts a ``(C,)`` tensor against ``(N, C, *)``."""
    return (input.shape[1],) + (1,) * (input.ndim - 2)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dimension 1) of ``(N, C, *)`` input over all other dimensions.

    Training: batch statistics, and (when given) ``running_mean``/``running_var`` move towards
    them by ``momentum`` in place, the variance unbiased. Evaluation: the running statistics.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> x = fg.tensor([[1.0], [3.0]])
    >>> mean, var = fg.zeros(1), fg.ones(1)
    >>> F.batch_norm(x, mean, var, training=True, momentum=0.5)
    tensor([[-1.0000],
            [ 1.0000]])
    >>> mean, var
    (tensor([1.]), tensor([1.5000]))
    """
    x = as_tensor(input)
    for stats in (running_mean, running_var, weight, bias):
        if stats is not None:
            check_channels("batch_norm", x, stats.numel())
    if x.ndim < 2:
        raise ShapeError(at_user_site(
            f"batch_norm: expected input (N, C, *) with 2 or more dimensions, got shape "
            f"{tuple(x.shape)}"
        ))
    shape = _channel_shape(x)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(at_user_site(
                "batch_norm: running_mean and running_var are needed when training=False"
            ))
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
        scale = (var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight.reshape(shape)
        shift = -mean * scale
        if bias is not None:
            shift = shift + bias.reshape(shape)
        return x * scale + shift

    check_batch_statistics("batch_norm", x)
    axes = (0, *range(2, x.ndim))
    if None in tuple(x.shape):  # a graph's batch size: the count is known at run time
        count = R.count.bind(x.detach(), axes=axes, dtype=x._data.dtype)
    else:
        count = _values_per_channel(tuple(x.shape))
    mean = x.mean(axes, keepdim=True)
    centered = x + (-mean)  # the gradient's negation then runs on the small mean
    var = (centered * centered).sum(axes, keepdim=True) / count
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)
    out = centered * scale
    if bias is not None:
        out = out + bias.reshape(shape)
    if running_mean is not None or running_var is not None:
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(-1), alpha=momentum)
            if running_var is not None:
                correction = (count / (count - 1).clamp(min=1) if isinstance(count, Tensor)
                              else count / max(count - 1, 1))
                unbiased = var.detach().reshape(-1) * correction
                running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    return out


def check_normalized_shape(who: str, input: Tensor, normalized_shape: tuple) -> None:
    shape = tuple(input.shape)
    k = len(normalized_shape)
    if k == 0 or len(shape) < k or shape[len(shape) - k:] != normalized_shape:
        raise ShapeError(at_user_site(
            f"{who}: input of shape {shape} does not end in the normalized shape "
            f"{normalized_shape} (expected an input of shape (*, "
            f"{', '.join(map(str, normalized_shape))}))"
        ))


def as_normalized_shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(d) for d in normalized_shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale and shift
    elementwise.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.layer_norm(fg.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    x = as_tensor(input)
    normalized_shape = as_normalized_shape(normalized_shape)
    check_normalized_shape("layer_norm", x, normalized_shape)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axes, keepdim=True)
    centered = x + (-mean)  # the gradient's negation then runs on the small mean
    var = (centered * centered).mean(axes, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Divide by the root mean square over the last ``len(normalized_shape)`` dimensions, then
    scale elementwise; ``eps=None`` is the machine epsilon of the input's dtype.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.rms_norm(fg.tensor([[3.0, 4.0]]), (2,))
    tensor([[0.8485, 1.1314]])
    """
    x = as_tensor(input)
    normalized_shape = as_normalized_shape(normalized_shape)
    check_normalized_shape("rms_norm", x, normalized_shape)
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the channels of ``(N, C, *)`` input into ``num_groups`` groups and normalise each
    group of each sample; then scale and shift per channel.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.group_norm(fg.tensor([[1.0, 3.0, 5.0, 5.0]]), 2)
    tensor([[-1.0000,  1.0000,  0.0000,  0.0000]])
    """
    x = as_tensor(input)
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[1] % num_groups:
        raise ShapeError(at_user_site(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups="
            f"{num_groups}, got shape {shape}"
        ))
    per_group = shape[1:]
    per_group = None if None in per_group else math.prod(per_group) // num_groups
    grouped = x.reshape(shape[0], num_groups, -1 if per_group is None else per_group)
    mean = grouped.mean(-1, keepdim=True)
    centered = grouped + (-mean)  # the gradient's negation then runs on the small mean
    var = (centered * centered).mean(-1, keepdim=True)
    out = (centered * (var + eps).rsqrt()).reshape(shape)
    channel_shape = _channel_shape(x)
    if weight is not None:
        out = out * weight.reshape(channel_shape)
    if bias is not None:
        out = out + bias.reshape(channel_shape)
    return out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each value by ``(k + alpha / size * sum of squares over size neighbouring
    channels) ** beta`` (AlexNet); the window is zero-padded at the edges.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.local_response_norm(fg.ones(1, 3, 2), size=2).shape
    (1, 3, 2)
    """
    x = as_tensor(input)
    if x.ndim < 3:
        raise ShapeError(at_user_site(
            f"local_response_norm: expected input (N, C, *) with 3 or more dimensions, got "
            f"shape {tuple(x.shape)}"
        ))
    channels = x.shape[1]
    squares = (x * x).movedim(1, -1)
    padded = fg.pad(squares, (size // 2, (size - 1) // 2))
    window = padded[..., 0:channels]
    for offset in range(1, size):
        window = window + padded[..., offset:offset + channels]
    div = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return x / div


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``: unit vectors (zero vectors stay zero).

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.normalize(fg.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    x = as_tensor(input)
    # Clamping the p-th power (not the norm) keeps the gradient finite at a zero vector.
    magnitude = x.abs()
    if p == float("inf"):
        norm = magnitude.amax(dim, keepdim=True).clamp(min=eps)
    elif p == 1:
        norm = magnitude.sum(dim, keepdim=True).clamp(min=eps)
    elif p == 2:
        norm = (x * x).sum(dim, keepdim=True).clamp(min=eps * eps).sqrt()
    else:
        norm = (magnitude ** p).sum(dim, keepdim=True).clamp(min=eps ** p) ** (1.0 / p)
    return x / norm
