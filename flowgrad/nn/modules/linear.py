"""Dense layers: :class:`Linear`, :class:`Bilinear`, and the pass-through :class:`Identity`."""

from __future__ import annotations

import math

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import empty
from flowgrad.nn import init
from flowgrad.nn.functional.dense import bilinear, linear
from flowgrad.nn.module import Module
from flowgrad.tensor import Parameter, Tensor

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged; accepts (and ignores) any constructor arguments, so it can
    stand in for another layer.

    >>> import flowgrad as fg
    >>> fg.nn.Identity(54, unused="x")(fg.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last dimension: ``(*, in_features)`` to
    ``(*, out_features)``.

    ``weight`` has shape ``(out_features, in_features)``; both parameters start as in PyTorch
    (``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(in), 1/sqrt(in))``, for both).

    >>> import flowgrad as fg
    >>> layer = fg.nn.Linear(20, 30)
    >>> layer
    Linear(in_features=20, out_features=30, bias=True)
    >>> layer(fg.randn(128, 20)).shape
    (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(empty(self.out_features, self.in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights and bias from the default generator, as PyTorch does."""
        init.reset_weight_and_bias_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        shape = tuple(input.shape)
        if not shape or shape[-1] != self.in_features:
            features = f"{shape[-1]} features" if shape else "no feature dimension"
            raise ShapeError(at_user_site(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                f"input has {features} (shape {shape})"
            ))
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x1 @ weight @ x2 + bias`` for each output feature: ``(*, in1_features)`` and
    ``(*, in2_features)`` to ``(*, out_features)``; ``weight`` is ``(out, in1, in2)``, and
    both parameters start as ``U(-1/sqrt(in1), 1/sqrt(in1))``.

    >>> import flowgrad as fg
    >>> layer = fg.nn.Bilinear(20, 30, 40)
    >>> layer(fg.randn(128, 20), fg.randn(128, 30)).shape
    (128, 40)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = int(in1_features)
        self.in2_features = int(in2_features)
        self.out_features = int(out_features)
        self.weight = Parameter(empty(self.out_features, self.in1_features, self.in2_features,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        shape1, shape2 = tuple(input1.shape), tuple(input2.shape)
        if (not shape1 or not shape2 or shape1[-1] != self.in1_features
                or shape2[-1] != self.in2_features or shape1[:-1] != shape2[:-1]):
            raise ShapeError(at_user_site(
                f"Bilinear(in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}): inputs of shapes {shape1} and {shape2} do "
                f"not fit (expected (..., {self.in1_features}) and (..., {self.in2_features}) "
                f"with equal leading dimensions)"
            ))
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
