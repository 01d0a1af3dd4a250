"""Pooling layers: max and average pooling (1-D, 2-D) and global pooling, channels-last by
default, over flowgrad's NCHW pooling kernels through ``permute`` views.

TensorFlow's 'same' pooling pads ``total // 2`` before and the rest after, and an average
counts only the pixels inside the input. That is PyTorch-style pooling with ``padding``
equal to the part before, ``ceil_mode=True`` (which adds the windows over the part after)
and ``count_include_pad=False``: the windows, their number and their divisors coincide, so
the fused kernels serve both conventions without padding a copy of the input.
"""

from __future__ import annotations

from flowgrad.keras.layers.conv import (
    CheckedLayer,
    add_height,
    check_build_rank,
    check_input_spec,
    describe,
    drop_height,
    from_channels_first,
    layout_name,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    same_padding,
    spatial_axes,
    to_channels_first,
)
from flowgrad.nn import functional as NF


class BasePooling(CheckedLayer):
    """Max or average pooling over ``rank`` spatial dimensions (1 or 2)."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who, rank = type(self).__name__, self.rank
        self.pool_size = normalize_tuple(pool_size, rank, "pool_size", who)
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, rank, "strides", who))
        self.padding = normalize_padding(padding, who)
        self.data_format = normalize_data_format(data_format, who)

    def build(self, input_shape) -> None:
        check_build_rank(self, input_shape, self.rank + 2,
                         layout_name(self.data_format, self.rank))


    def call(self, inputs):
        shape = check_input_spec(self, inputs, self.rank + 2)
        x = to_channels_first(inputs, self.data_format)
        padding, ceil_mode = (0,) * self.rank, False
        if self.padding == "same":
            sizes = [shape[a] for a in spatial_axes(self.data_format, self.rank)]
            padding = tuple(same_padding(describe(self), size, k, s)[0] for size, k, s in
                            zip(sizes, self.pool_size, self.strides, strict=True))
            ceil_mode = True
        pool_size, strides = self.pool_size, self.strides
        if self.rank == 1:  # pool a height-1 image (add_height also takes unknown lengths)
            x, pool_size, strides, padding = (add_height(x), (1, *pool_size), (1, *strides),
                                              (0, *padding))
        if self.mode == "max":
            out = NF.max_pool2d(x, pool_size, strides, padding, ceil_mode=ceil_mode)
        else:
            out = NF.avg_pool2d(x, pool_size, strides, padding, ceil_mode=ceil_mode,
                                count_include_pad=False)
        if self.rank == 1:
            out = drop_height(out)
        return from_channels_first(out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling2D(BasePooling):
    """The maximum of each ``pool_size`` window of ``(batch, height, width, channels)``
    images, moved by ``strides`` (the pool size by default).

    >>> from flowgrad import keras
    >>> keras.layers.MaxPooling2D()(keras.Input((32, 32, 8))).shape
    (None, 16, 16, 8)
    >>> keras.layers.MaxPooling2D(3, 2, padding="same")(keras.Input((7, 7, 1))).shape
    (None, 4, 4, 1)
    """

    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """The mean of each ``pool_size`` window; with ``padding='same'`` the padding is not
    counted (as TensorFlow).

    >>> from flowgrad import keras
    >>> keras.layers.AveragePooling2D(padding="same")(keras.Input((5, 5, 2))).shape
    (None, 3, 3, 2)
    """

    rank, mode = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling1D(BasePooling):
    """The maximum of each ``pool_size`` window of ``(batch, steps, channels)`` sequences.

    >>> from flowgrad import keras
    >>> keras.layers.MaxPooling1D()(keras.Input((9, 4))).shape
    (None, 4, 4)
    """

    rank, mode = 1, "max"


class AveragePooling1D(BasePooling):
    """The mean of each ``pool_size`` window of ``(batch, steps, channels)`` sequences.

    >>> from flowgrad import keras
    >>> keras.layers.AveragePooling1D(padding="same")(keras.Input((9, 4))).shape
    (None, 5, 4)
    """

    rank, mode = 1, "avg"


class BaseGlobalPooling(CheckedLayer):
    """The mean or maximum over all spatial dimensions (kept as size 1 with ``keepdims``)."""

    rank = 2
    mode = "avg"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def build(self, input_shape) -> None:
        check_build_rank(self, input_shape, self.rank + 2,
                         layout_name(self.data_format, self.rank))


    def call(self, inputs):
        check_input_spec(self, inputs, self.rank + 2)
        axes = spatial_axes(self.data_format, self.rank)
        if self.mode == "max":
            return inputs.amax(axes, keepdim=self.keepdims)
        return inputs.mean(axes, keepdim=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean over height and width: ``(batch, h, w, c)`` -> ``(batch, c)``.

    >>> from flowgrad import keras
    >>> keras.layers.GlobalAveragePooling2D()(keras.Input((7, 7, 64))).shape
    (None, 64)
    >>> keras.layers.GlobalAveragePooling2D(keepdims=True)(keras.Input((7, 7, 64))).shape
    (None, 1, 1, 64)
    """

    rank, mode = 2, "avg"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The maximum over height and width: ``(batch, h, w, c)`` -> ``(batch, c)``.

    >>> from flowgrad import keras
    >>> keras.layers.GlobalMaxPooling2D()(keras.Input((7, 7, 64))).shape
    (None, 64)
    """

    rank, mode = 2, "max"


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over the steps: ``(batch, steps, c)`` -> ``(batch, c)``.

    >>> from flowgrad import keras
    >>> keras.layers.GlobalAveragePooling1D()(keras.Input((10, 8))).shape
    (None, 8)
    """

    rank, mode = 1, "avg"


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The maximum over the steps: ``(batch, steps, c)`` -> ``(batch, c)``."""

    rank, mode = 1, "max"


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
