"""Resampling layers: :class:`Upsample`, :class:`UpsamplingNearest2d` and
:class:`UpsamplingBilinear2d`, over :func:`flowgrad.nn.functional.interpolate`."""

from __future__ import annotations

from flowgrad.nn.functional.sampling import interpolate
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize ``(N, C, *spatial)`` to ``size`` or by ``scale_factor`` with ``mode``
    ``'nearest'``, ``'linear'``, ``'bilinear'`` or ``'trilinear'``.

    >>> import flowgrad as fg
    >>> up = fg.nn.Upsample(scale_factor=2, mode="nearest")
    >>> up
    Upsample(scale_factor=2.0, mode='nearest')
    >>> up(fg.randn(1, 3, 4, 4)).shape
    (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for 4-D input (PyTorch's older name).

    >>> import flowgrad as fg
    >>> fg.nn.UpsamplingNearest2d(scale_factor=2)(fg.randn(1, 1, 2, 3)).shape
    (1, 1, 4, 6)
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` (PyTorch's older name).

    >>> import flowgrad as fg
    >>> fg.nn.UpsamplingBilinear2d(size=(3, 3))(fg.randn(1, 1, 2, 2)).shape
    (1, 1, 3, 3)
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
