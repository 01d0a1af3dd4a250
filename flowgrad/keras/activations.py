"""Keras's activations by name (``Dense(64, activation="relu")``), over flowgrad's functions."""

from __future__ import annotations

from collections.abc import Callable

from flowgrad import functions as F
from flowgrad.nn import functional as NF
from flowgrad.tensor import Tensor


def linear(x: Tensor) -> Tensor:
    return x


def relu(x: Tensor) -> Tensor:
    return F.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    return F.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return F.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return F.softmax(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return F.log_softmax(x, axis)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return NF.gelu(x, approximate="tanh" if approximate else "none")


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return NF.elu(x, alpha)


def selu(x: Tensor) -> Tensor:
    return NF.selu(x)


def softplus(x: Tensor) -> Tensor:
    return NF.softplus(x)


def softsign(x: Tensor) -> Tensor:
    return NF.softsign(x)


def silu(x: Tensor) -> Tensor:
    return NF.silu(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    return NF.leaky_relu(x, negative_slope)


def relu6(x: Tensor) -> Tensor:
    return NF.relu6(x)


def hard_sigmoid(x: Tensor) -> Tensor:
    return NF.hardsigmoid(x)


def mish(x: Tensor) -> Tensor:
    return NF.mish(x)


def exponential(x: Tensor) -> Tensor:
    return F.exp(x)


swish = silu
ACTIVATIONS: dict[str, Callable] = {
    fn.__name__: fn for fn in (linear, relu, sigmoid, tanh, softmax, log_softmax, gelu, elu,
                               selu, softplus, softsign, silu, leaky_relu, relu6, hard_sigmoid,
                               mish, exponential)
}
ACTIVATIONS["swish"] = silu


def get(identifier) -> Callable:
    """An activation function from its name, itself, or None (``linear``)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        found = ACTIVATIONS.get(identifier.lower())
        if found is None:
            raise ValueError(f"unknown activation {identifier!r}; valid names: "
                             f"{', '.join(sorted(ACTIVATIONS))}")
        return found
    if callable(identifier):
        return identifier
    raise TypeError(f"an activation is a name or a callable, got {type(identifier).__name__}")


def serialize(activation: Callable) -> str | Callable:
    """The name of ``activation`` where it is one of Keras's, for a layer's config."""
    for name, fn in ACTIVATIONS.items():
        if fn is activation:
            return "silu" if name == "swish" else name
    return getattr(activation, "__name__", activation)
