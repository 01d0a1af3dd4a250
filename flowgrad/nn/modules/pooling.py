"""Pooling layers: max, average and adaptive average pooling in 1-D and 2-D, thin modules
over :mod:`flowgrad.nn.functional.pooling` that keep their arguments as given and print as
PyTorch's do."""

from __future__ import annotations

from flowgrad.nn.functional.conv import as_tuple
from flowgrad.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor

__all__ = [
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """Maximum over ``kernel_size`` windows of ``(N, C, H, W)``; ``stride`` defaults to the
    kernel size.

    >>> import flowgrad as fg
    >>> pool = fg.nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(fg.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def forward(self, input: Tensor):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Maximum over ``kernel_size`` windows of ``(N, C, L)``.

    >>> import flowgrad as fg
    >>> fg.nn.MaxPool1d(3, stride=2)(fg.randn(2, 4, 9)).shape
    (2, 4, 4)
    """

    def forward(self, input: Tensor):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows of ``(N, C, H, W)``; padded zeros count unless
    ``count_include_pad=False``.

    >>> import flowgrad as fg
    >>> pool = fg.nn.AvgPool2d(2)
    >>> pool
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    >>> pool(fg.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """Mean over ``kernel_size`` windows of ``(N, C, L)``.

    >>> import flowgrad as fg
    >>> pool = fg.nn.AvgPool1d(3, stride=2)
    >>> pool
    AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))
    >>> pool(fg.ones(1, 2, 7)).shape
    (1, 2, 3)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = as_tuple(kernel_size, 1, "kernel_size", name)
        self.stride = as_tuple(stride if stride is not None else kernel_size, 1, "stride", name)
        self.padding = as_tuple(padding, 1, "padding", name)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling of ``(N, C, H, W)`` to a fixed ``output_size`` whatever the input
    size (``None`` keeps that dimension).

    >>> import flowgrad as fg
    >>> pool = fg.nn.AdaptiveAvgPool2d((1, 1))
    >>> pool
    AdaptiveAvgPool2d(output_size=(1, 1))
    >>> pool(fg.randn(2, 8, 7, 7)).shape
    (2, 8, 1, 1)
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of ``(N, C, L)`` to a fixed ``output_size``.

    >>> import flowgrad as fg
    >>> fg.nn.AdaptiveAvgPool1d(4)(fg.randn(2, 8, 10)).shape
    (2, 8, 4)
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)
