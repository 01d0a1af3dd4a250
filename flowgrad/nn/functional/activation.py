"""Activation functions, composed from primitives (``relu``, ``sigmoid``, ``tanh``, ``exp``,
``log1p``, ``erf``, ``clip``, ``where``); their gradients come from those.

Where one branch can overflow (``exp`` of a large input in ``elu``, ``softplus``), the input of
that branch is clamped first: ``where`` passes a zero gradient to the unused branch, and zero
times an infinite local derivative would be NaN.

``inplace=True`` writes the result into the input's memory (recorded by autograd when the
input needs gradients), as PyTorch's in-place variants do.
"""

from __future__ import annotations

import math
import warnings

from flowgrad import functions as fg
from flowgrad.autograd import is_grad_enabled
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.tensor import Tensor

__all__ = [
    "relu", "relu_", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu", "gelu", "silu",
    "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "softmin", "logsigmoid",
    "hardtanh", "hardtanh_", "relu6", "mish", "softsign", "hardsigmoid", "hardswish", "glu",
    "prelu",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _in_place(input: Tensor, fn, name: str) -> Tensor:
    """Write ``fn(input)`` into ``input``'s memory (autograd records it when it must).

    A composite may save its input for the gradient at any step; when recording, it reads a
    copy, so writing the result into ``input`` cannot invalidate what it saved.
    """
    source = input
    if input.requires_grad and is_grad_enabled():
        if input.is_leaf:
            raise RuntimeError(at_user_site(
                f"{name}(inplace=True): a leaf tensor that requires grad cannot be modified in "
                f"place; use inplace=False"
            ))
        source = input.clone()
    return input.copy_(fn(source))


def _maybe_in_place(input: Tensor, inplace: bool, fn, name: str) -> Tensor:
    x = as_tensor(input)
    return _in_place(x, fn, name) if inplace else fn(x)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``.

    >>> import flowgrad as fg
    >>> fg.nn.functional.relu(fg.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _maybe_in_place(input, inplace, fg.relu, "relu")


def relu_(input: Tensor) -> Tensor:
    """:func:`relu` in place."""
    return relu(input, inplace=True)


def _leaky_relu(x: Tensor, negative_slope: float) -> Tensor:
    return fg.where(x > 0, x, x * negative_slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _maybe_in_place(input, inplace, lambda x: _leaky_relu(x, negative_slope),
                           "leaky_relu")


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def _elu(x: Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    negative = (fg.clamp(x, max=0) * input_scale).exp() - 1
    return fg.where(x > 0, x * scale, negative * (alpha * scale))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _maybe_in_place(input, inplace, lambda x: _elu(x, alpha), "elu")


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants of Klambauer et al."""
    return _maybe_in_place(input, inplace, lambda x: _elu(x, _SELU_ALPHA, _SELU_SCALE), "selu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero")
    return _maybe_in_place(input, inplace, lambda x: _elu(x, alpha, 1.0, 1.0 / alpha), "celu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``, Phi the standard normal CDF: exactly with ``erf``, or with the tanh
    approximation (``approximate='tanh'``).

    >>> import flowgrad as fg
    >>> fg.nn.functional.gelu(fg.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
    """
    x = as_tensor(input)
    if approximate == "none":
        return x * 0.5 * (1 + fg.erf(x * (1 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = x * (1 + x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (1 + fg.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return _maybe_in_place(input, inplace, lambda x: x * fg.sigmoid(x), "silu")


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return fg.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent."""
    return fg.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``
    (where the two agree to float precision)."""
    x = as_tensor(input)
    scaled = x * beta
    smooth = fg.log1p(fg.clamp(scaled, max=threshold).exp())
    if beta != 1:
        smooth = smooth / beta
    return fg.where(scaled > threshold, x, smooth)


def _softmax_dim(name: str, ndim: int, dim: int | None) -> int:
    if dim is not None:
        return dim
    warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim= explicitly",
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (after casting to ``dtype`` when given).

    >>> import flowgrad as fg
    >>> fg.nn.functional.softmax(fg.tensor([[0.0, 0.0]]), dim=1)
    tensor([[0.5000, 0.5000]])
    """
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    return fg.softmax(x, _softmax_dim("softmax", x.ndim, dim))


def softmin(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``."""
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    return fg.softmax(-x, _softmax_dim("softmin", x.ndim, dim))


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    return fg.log_softmax(x, _softmax_dim("log_softmax", x.ndim, dim))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    x = as_tensor(input)
    return fg.clamp(x, max=0) - fg.log1p((-x.abs()).exp())


def _check_range(name: str, min_val: float, max_val: float) -> None:
    if min_val > max_val:
        raise ValueError(f"{name}: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``."""
    _check_range("hardtanh", min_val, max_val)
    return _maybe_in_place(input, inplace, lambda x: fg.clamp(x, min_val, max_val), "hardtanh")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (the gradient at 0 is 0, as for ``relu``)."""
    return _maybe_in_place(input, inplace, lambda x: fg.clamp(fg.relu(x), max=6.0), "relu6")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _maybe_in_place(input, inplace, lambda x: x * fg.tanh(softplus(x)), "mish")


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    x = as_tensor(input)
    return x / (x.abs() + 1)


def _hardsigmoid(x: Tensor) -> Tensor:
    return fg.clamp(x * (1 / 6) + 0.5, 0.0, 1.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between."""
    return _maybe_in_place(input, inplace, _hardsigmoid, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)`` (MobileNetV3)."""
    return _maybe_in_place(input, inplace, lambda x: x * _hardsigmoid(x), "hardswish")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``a * sigmoid(b)``."""
    x = as_tensor(input)
    if x.ndim == 0 or x.shape[dim] % 2:
        raise ShapeError(at_user_site(
            f"glu: dimension {dim} must have an even size to be halved, got shape "
            f"{tuple(x.shape)}"
        ))
    a, b = fg.chunk(x, 2, dim)
    return a * fg.sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has one value, or one per
    channel (dimension 1)."""
    x = as_tensor(input)
    if weight.numel() != 1 and x.ndim >= 2:
        weight = weight.reshape(-1, *([1] * (x.ndim - 2)))
    return fg.where(x > 0, x, x * weight)
