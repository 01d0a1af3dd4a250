"""Initialisers: fill a tensor in place with PyTorch's schemes (uniform, normal, Xavier/Glorot,
Kaiming/He, truncated normal, constants).

Each draws from flowgrad's default generator (or ``generator=``), so ``fg.manual_seed`` makes
a model's initialisation reproducible; each writes under ``no_grad`` and returns its tensor.
Fans follow PyTorch: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)``
and ``fan_out = out * prod(kernel)``.

>>> import flowgrad as fg
>>> w = fg.empty(3, 4)
>>> _ = fg.nn.init.constant_(w, 0.5)
>>> w.sum().item()
6.0
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from flowgrad import random as fg_random
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.ops.special import erf_kernel, erfinv_kernel
from flowgrad.random import Generator
from flowgrad.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's values): 1 for linear layers and
    sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for
    selu.

    >>> import flowgrad as fg
    >>> round(fg.nn.init.calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, int | float) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join((*_LINEAR_GAIN, 'tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ShapeError(at_user_site(
            f"init: fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions (shape {shape})"
        ))
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor: Tensor, values) -> Tensor:
    """Copy ``values`` into ``tensor``'s memory (cast to its dtype): an update autograd does
    not record, as under ``no_grad``; the version counter tells saved tensors it changed."""
    tensor._data[...] = values
    tensor._bump_version()
    return tensor


def _rng(generator: Generator | None) -> np.random.Generator:
    return fg_random.resolve(generator)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with samples of ``U(a, b)``.

    >>> import flowgrad as fg
    >>> w = fg.nn.init.uniform_(fg.empty(100), -0.1, 0.1)
    >>> bool((w.abs() <= 0.1).all())
    True
    """
    return _write(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with samples of ``N(mean, std^2)``."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _write(tensor, mean + std * _rng(generator).standard_normal(tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Fill with samples of ``N(mean, std^2)`` conditioned on ``[a, b]`` (absolute bounds, as
    in PyTorch), by the inverse CDF: uniform samples between the CDF at ``a`` and at ``b``.

    >>> import flowgrad as fg
    >>> w = fg.nn.init.trunc_normal_(fg.empty(1000), std=0.02, a=-0.04, b=0.04)
    >>> bool((w.abs() <= 0.04).all())
    True
    """
    if std <= 0 or a >= b:
        raise ValueError(f"trunc_normal_: needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the distribution of "
                      "values may be incorrect", stacklevel=2)
    # erf((x - mean) / (std sqrt 2)) is uniform on [erf(alpha), erf(beta)] for x truncated.
    low, high = erf_kernel(np.array([(a - mean) / (std * math.sqrt(2.0)),
                                     (b - mean) / (std * math.sqrt(2.0))]))
    uniform = _rng(generator).uniform(low, high, tensor.shape)
    values = mean + std * math.sqrt(2.0) * erfinv_kernel(uniform)
    return _write(tensor, np.clip(values, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return _write(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return _write(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal, zeros elsewhere).

    >>> import flowgrad as fg
    >>> fg.nn.init.eye_(fg.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    if tensor.ndim != 2:
        raise ShapeError(at_user_site(
            f"eye_: only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}"
        ))
    return _write(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Glorot uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    >>> import flowgrad as fg
    >>> w = fg.nn.init.xavier_uniform_(fg.empty(30, 20))
    >>> bool((w.abs() <= (6 / 50) ** 0.5).all())
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _write(tensor, _rng(generator).uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Glorot normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _write(tensor, std * _rng(generator).standard_normal(tensor.shape))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    """He's ``gain / sqrt(fan)``; None for a tensor with no elements (nothing to fill)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("init: initializing a zero-element tensor is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """He uniform: ``U(-bound, bound)`` with ``bound = gain * sqrt(3 / fan)``; ``a`` is the
    negative slope of the leaky ReLU that follows (``Linear`` uses ``a=sqrt(5)``).

    >>> import flowgrad as fg
    >>> w = fg.nn.init.kaiming_uniform_(fg.empty(8, 50), nonlinearity="relu")
    >>> bool((w.abs() <= (6 / 50) ** 0.5).all())
    True
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return _write(tensor, _rng(generator).uniform(-bound, bound, tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """He normal: ``N(0, std^2)`` with ``std = gain / sqrt(fan)``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _write(tensor, std * _rng(generator).standard_normal(tensor.shape))


def reset_weight_and_bias_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's default for Linear and convolutions: Kaiming uniform with ``a=sqrt(5)`` for
    the weight, uniform in ``±1/sqrt(fan_in)`` for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
