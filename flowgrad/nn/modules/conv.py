"""Convolution layers: :class:`Conv1d`, :class:`Conv2d` and :class:`ConvTranspose1d`,
:class:`ConvTranspose2d`, thin modules over :mod:`flowgrad.nn.functional.conv`.

Parameters have PyTorch's shapes and initial distributions (``kaiming_uniform_(a=sqrt(5))``
for the weight, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for the bias), and the layers print
as PyTorch's do. Each layer checks its input's channels itself, so the error names the layer.
"""

from __future__ import annotations

from flowgrad.errors import at_user_site
from flowgrad.functions import empty
from flowgrad.nn import init
from flowgrad.nn.functional.conv import (
    as_tuple,
    check_channels,
    check_input,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    pad_with_mode,
    resolve_padding,
)
from flowgrad.nn.module import Module
from flowgrad.tensor import Parameter, Tensor

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: arguments, parameters, initialisation, repr."""

    spatial: int
    transposed: bool = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str, output_padding=0,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        n = self.spatial
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(at_user_site(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"be divisible by groups ({groups})"
            ))
        if padding_mode not in _PADDING_MODES:
            raise ValueError(at_user_site(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            ))
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(at_user_site(
                f"{name}: padding must be 'same', 'valid' or ints, got {padding!r}"
            ))
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride, n, "stride", name)
        self.padding = padding if isinstance(padding, str) else as_tuple(padding, n, "padding",
                                                                         name)
        self.dilation = as_tuple(dilation, n, "dilation", name)
        self.output_padding = as_tuple(output_padding, n, "output_padding", name)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(at_user_site(
                f"{name}: padding='same' is not supported for strided convolutions "
                f"(stride={self.stride})"
            ))
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weight and bias from the default generator, as PyTorch does."""
        init.reset_weight_and_bias_(self.weight, self.bias)

    def _layer(self) -> str:
        """How error messages name this layer: ``Conv2d(3, 32, kernel_size=(3, 3))``."""
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size})")

    def _check(self, input: Tensor) -> None:
        name = self._layer()
        check_input(name, input, self.spatial)
        check_channels(name, tuple(input.shape), self.in_channels, self.spatial)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.spatial:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.spatial:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def forward(self, input: Tensor) -> Tensor:
        self._check(input)
        padding = self.padding
        if self.padding_mode != "zeros":
            pads = resolve_padding(self._layer(), padding, self.kernel_size, self.stride,
                                   self.dilation)
            input = pad_with_mode(self._layer(), input, pads, self.padding_mode)
            padding = 0
        convolve = conv2d if self.spatial == 2 else conv1d
        return convolve(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv2d(_Conv):
    """2-D convolution over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``); ``weight``
    is ``(out_channels, in_channels / groups, kH, kW)``. ``padding`` may be ints, ``'same'`` or
    ``'valid'``; ``padding_mode`` ``'zeros'``, ``'reflect'``, ``'replicate'`` or
    ``'circular'``.

    >>> import flowgrad as fg
    >>> layer = fg.nn.Conv2d(3, 32, 3, padding=1)
    >>> layer
    Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> layer(fg.randn(8, 3, 32, 32)).shape
    (8, 32, 32, 32)
    """

    spatial = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``); ``weight`` is
    ``(out_channels, in_channels / groups, K)``.

    >>> import flowgrad as fg
    >>> layer = fg.nn.Conv1d(4, 8, 3, stride=2)
    >>> layer
    Conv1d(4, 8, kernel_size=(3,), stride=(2,))
    >>> layer(fg.randn(2, 4, 11)).shape
    (2, 8, 5)
    """

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(at_user_site(
                f"{type(self).__name__}: only padding_mode='zeros' is supported, got "
                f"{padding_mode!r}"
            ))
        if isinstance(padding, str):
            raise ValueError(at_user_site(
                f"{type(self).__name__}: padding must be ints, got {padding!r}"
            ))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype=dtype)

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        """The output padding that gives ``output_size`` (PyTorch's ``output_size=``)."""
        if output_size is None:
            return self.output_padding
        n = self.spatial
        sizes = tuple(int(s) for s in output_size)[-n:]
        extra = []
        for a in range(n):
            smallest = ((input.shape[-n + a] - 1) * self.stride[a] - 2 * self.padding[a]
                        + self.dilation[a] * (self.kernel_size[a] - 1) + 1)
            if not smallest <= sizes[a] < smallest + max(self.stride[a], self.dilation[a]):
                raise ValueError(at_user_site(
                    f"{self._layer()}: requested output size {sizes} is not reachable from "
                    f"input shape {tuple(input.shape)} (dimension {a} must be in "
                    f"[{smallest}, {smallest + max(self.stride[a], self.dilation[a]) - 1}])"
                ))
            extra.append(sizes[a] - smallest)
        return tuple(extra)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check(input)
        output_padding = self._output_padding(input, output_size)
        convolve = conv_transpose2d if self.spatial == 2 else conv_transpose1d
        return convolve(input, self.weight, self.bias, self.stride, self.padding,
                        output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution (the gradient of :class:`Conv2d` with respect to its
    input) over ``(N, C_in, H, W)``; ``weight`` is ``(in_channels, out_channels / groups, kH,
    kW)``.

    >>> import flowgrad as fg
    >>> layer = fg.nn.ConvTranspose2d(16, 8, 2, stride=2)
    >>> layer
    ConvTranspose2d(16, 8, kernel_size=(2, 2), stride=(2, 2))
    >>> layer(fg.randn(1, 16, 5, 5)).shape
    (1, 8, 10, 10)
    """

    spatial = 2


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution over ``(N, C_in, L)``; ``weight`` is ``(in_channels,
    out_channels / groups, K)``.

    >>> import flowgrad as fg
    >>> fg.nn.ConvTranspose1d(4, 2, 3, stride=2)(fg.randn(1, 4, 5)).shape
    (1, 2, 11)
    """

    spatial = 1
