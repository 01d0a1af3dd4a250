"""Convolution layers (Conv1D, Conv2D) and the spatial helpers the pooling and padding layers
share: argument normalisation, TensorFlow's 'same' padding, and Keras's input checks.

Weights keep Keras's layout (kernel ``(*kernel_size, in / groups, filters)``), so
``set_weights`` takes what ``tf.keras`` gives. Channels-last inputs reach flowgrad's NCHW
convolution kernel through ``permute`` views: the kernel reads any strides, and its output,
permuted back, is a view too; no layout copy is made on the way in or out.
"""

from __future__ import annotations

from flowgrad import functions as F
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras import activations, initializers
from flowgrad.keras.layer import Layer
from flowgrad.ops import nn as nn_ops
from flowgrad.ops import shape as shape_ops
from flowgrad.tensor import Tensor


def describe(layer: Layer) -> str:
    """How an error names a layer: ``Conv2D 'conv2d_1'``."""
    return f"{type(layer).__name__} {layer.name!r}"


def normalize_tuple(value, n: int, name: str, who: str, allow_zero: bool = False
                    ) -> tuple[int, ...]:
    """An int or ``n`` ints as an ``n``-tuple of positive (or non-negative) ints."""
    values = (value,) * n if isinstance(value, int) else tuple(value)
    low = 0 if allow_zero else 1
    if len(values) != n or any(not isinstance(v, int) or v < low for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{who}: {name} must be a {kind} int or a tuple of {n} {kind} ints, "
                         f"got {value!r}")
    return values


def normalize_padding(value, who: str, allowed=("valid", "same")) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{who}: padding must be one of {', '.join(map(repr, allowed))}, got "
                         f"{value!r}")
    return padding


def normalize_data_format(value, who: str) -> str:
    data_format = (value or "channels_last").lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first', got "
                         f"{value!r}")
    return data_format


def same_padding(who: str, size, kernel: int, stride: int, dilation: int = 1
                 ) -> tuple[int, int]:
    """TensorFlow's 'same' padding along one axis: the output has ``ceil(size / stride)``
    positions and any odd extra pixel goes after (bottom/right)."""
    span = dilation * (kernel - 1) + 1
    if size is None:
        if stride != 1:
            raise ShapeError(at_user_site(
                f"{who}: padding='same' with strides {stride} needs the spatial size, got an "
                f"input with an unknown spatial dimension"
            ))
        total = span - 1
    else:
        total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def check_input_spec(layer: Layer, inputs, ndim: int, axis: int | None = None,
                     size: int | None = None) -> tuple:
    """Keras's input check: ``inputs`` of rank ``ndim`` with ``size`` in dimension ``axis``;
    otherwise a ShapeError naming the layer, the shape received and the one expected."""
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{describe(layer)}: expected a tensor input, got "
                        f"{type(inputs).__name__}")
    shape = tuple(inputs.shape)
    if len(shape) != ndim or (size is not None and shape[axis] not in (size, None)):
        expected = ["?"] * ndim
        expected[0] = "batch"
        if size is not None:
            expected[axis] = str(size)
        raise ShapeError(at_user_site(
            f"Input 0 of layer {describe(layer)} is incompatible with the layer: expected a "
            f"{ndim}-D input of shape ({', '.join(expected)}), got shape {shape}"
        ))
    return shape


def check_build_rank(layer: Layer, input_shape, ndim: int, layout: str) -> tuple:
    shape = tuple(input_shape) if isinstance(input_shape, tuple | list) else None
    if shape is None or len(shape) != ndim or isinstance(shape[0], tuple | list):
        raise ShapeError(at_user_site(
            f"{describe(layer)}: expected a {ndim}-D input {layout}, got shape {input_shape}"
        ))
    return shape


def spatial_axes(data_format: str, rank: int) -> tuple[int, ...]:
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(
        range(2, rank + 2))


def to_channels_first(x: Tensor, data_format: str) -> Tensor:
    """A channels-first view of ``x`` (free: a permute)."""
    if data_format == "channels_first":
        return x
    # The primitive itself: the dims are known valid, and a layer call is a hot path.
    return shape_ops.permute.bind(x, dims=(0, x.ndim - 1, *range(1, x.ndim - 1)))


def from_channels_first(x: Tensor, data_format: str) -> Tensor:
    if data_format == "channels_first":
        return x
    return shape_ops.permute.bind(x, dims=(0, *range(2, x.ndim), 1))


def layout_name(data_format: str, rank: int) -> str:
    spatial = ("length",) if rank == 1 else ("height", "width")
    dims = ("batch", *spatial, "channels") if data_format == "channels_last" else (
        "batch", "channels", *spatial)
    return f"({', '.join(dims)})"


class CheckedLayer(Layer):
    """A layer whose ``call`` checks its own input, so that symbolic calls (on
    ``keras.Input``), which ``Layer.__call__``'s check does not reach, are checked too, and
    eager calls are not checked twice."""

    def _check_input(self, inputs) -> None:
        """Nothing: ``call`` checks."""


def add_height(x: Tensor) -> Tensor:
    """``(N, C, L)`` -> ``(N, C, 1, L)``: a reshape, or an index where more than one size is
    unknown (a graph's reshape allows one)."""
    if sum(d is None for d in x.shape) > 1:
        return x[:, :, None]
    return x.unsqueeze(2)


def drop_height(x: Tensor) -> Tensor:
    if sum(d is None for d in x.shape) > 1:
        return x[:, :, 0]
    return x.squeeze(2)


class BaseConv(CheckedLayer):
    """A ``rank``-D convolution (1 or 2) with Keras's arguments, over flowgrad's conv2d."""

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, groups: int = 1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs) -> None:
        super().__init__(**kwargs)
        who, rank = type(self).__name__, self.rank
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        if not isinstance(groups, int) or groups < 1 or filters % groups:
            raise ValueError(f"{who}: groups must be a positive integer dividing filters="
                             f"{filters}, got {groups!r}")
        self.filters, self.groups, self.use_bias = filters, groups, bool(use_bias)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", who)
        self.strides = normalize_tuple(strides, rank, "strides", who)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", who)
        allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = normalize_padding(padding, who, allowed)
        self.data_format = normalize_data_format(data_format, who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 cannot be combined with dilation_rate > 1 "
                             f"(as in Keras), got strides={self.strides} and dilation_rate="
                             f"{self.dilation_rate}")
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._channel_axis = -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape) -> None:
        shape = check_build_rank(self, input_shape, self.rank + 2,
                                 layout_name(self.data_format, self.rank))
        channels = shape[self._channel_axis]
        if channels is None:
            raise ShapeError(at_user_site(
                f"{describe(self)}: the channel dimension of its input must be known, got "
                f"shape {tuple(input_shape)}"
            ))
        if channels % self.groups:
            raise ShapeError(at_user_site(
                f"{describe(self)}: the input's {channels} channels (shape "
                f"{tuple(input_shape)}) must be divisible by groups={self.groups}"
            ))
        self.add_weight("kernel", (*self.kernel_size, channels // self.groups, self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        self._channels = channels
        self._kernel_order = (self.rank + 1, self.rank, *range(self.rank))


    def _padding(self, sizes) -> tuple[tuple[int, int], ...]:
        who = describe(self)
        pads = []
        for size, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate,
                                 strict=True):
            if self.padding == "same":
                pads.append(same_padding(who, size, k, s, d))
            elif self.padding == "causal":  # everything before: no output sees the future
                pads.append((d * (k - 1), 0))
            else:
                pads.append((0, 0))
            span = d * (k - 1) + 1
            if size is not None and size + sum(pads[-1]) < span:
                raise ShapeError(at_user_site(
                    f"{who}: input size {size} is smaller than the kernel's span {span} "
                    f"(kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                    f"padding={self.padding!r}); use padding='same' or a larger input"
                ))
        return tuple(pads)

    def call(self, inputs):
        shape = check_input_spec(self, inputs, self.rank + 2, self._channel_axis,
                                 self._channels)
        x = to_channels_first(inputs, self.data_format)  # (N, C, *spatial), a view
        spatial = tuple(shape[a] for a in spatial_axes(self.data_format, self.rank))
        pads = self._padding(spatial)
        # (*k, in, out) -> (out, in, *k): a view of a small tensor
        kernel = shape_ops.permute.bind(self.kernel, dims=self._kernel_order)
        stride, dilation = self.strides, self.dilation_rate
        if self.rank == 1:  # a 1-D convolution is a 2-D one on a height-1 image
            x, kernel = add_height(x), kernel.unsqueeze(2)
            stride, dilation, pads = (1, *stride), (1, *dilation), ((0, 0), *pads)
        operands = (x, kernel, self.bias) if self.use_bias else (x, kernel)
        out = nn_ops.conv2d.bind(*operands, stride=stride, padding=pads, dilation=dilation,
                                 groups=self.groups)
        if self.rank == 1:
            out = drop_height(out)
        return self.activation(from_channels_first(out, self.data_format))

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}


class Conv2D(BaseConv):
    """2-D convolution of ``(batch, height, width, channels)`` images (or channels-first):
    ``activation(conv(inputs, kernel) + bias)``, kernel ``(kh, kw, in / groups, filters)``.

    >>> from flowgrad import keras
    >>> layer = keras.layers.Conv2D(32, 3, strides=2, padding="same")
    >>> layer(keras.Input((32, 32, 3))).shape
    (None, 16, 16, 32)
    >>> layer.count_params()
    896
    """

    rank = 2


class Conv1D(BaseConv):
    """1-D convolution of ``(batch, steps, channels)`` sequences; ``padding='causal'`` pads
    only the start, so no output depends on later steps.

    >>> from flowgrad import keras
    >>> keras.layers.Conv1D(4, 3, padding="causal")(keras.Input((10, 2))).shape
    (None, 10, 4)
    """

    rank = 1


class ZeroPadding2D(CheckedLayer):
    """Zeros around the height and width: ``padding`` is an int, ``(h, w)`` or
    ``((top, bottom), (left, right))``.

    >>> from flowgrad import keras
    >>> keras.layers.ZeroPadding2D(((1, 0), (2, 3)))(keras.Input((4, 4, 3))).shape
    (None, 5, 9, 3)
    """

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        if isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        pairs = tuple(padding) if isinstance(padding, tuple | list) else ()
        if len(pairs) == 2 and all(isinstance(p, int) for p in pairs):
            pairs = tuple((p, p) for p in pairs)
        if len(pairs) != 2:
            raise ValueError(f"{who}: padding must be an int, 2 ints or 2 pairs of ints, got "
                             f"{padding!r}")
        self.padding = tuple(normalize_tuple(p, 2, "padding", who, allow_zero=True)
                             for p in pairs)
        self.data_format = normalize_data_format(data_format, who)

    def build(self, input_shape) -> None:
        check_build_rank(self, input_shape, 4, layout_name(self.data_format, 2))


    def call(self, inputs):
        check_input_spec(self, inputs, 4)
        (top, bottom), (left, right) = self.padding
        if self.data_format == "channels_last":
            widths = (0, 0, left, right, top, bottom)
        else:
            widths = (left, right, top, bottom)
        return F.pad(inputs, widths)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class UpSampling2D(CheckedLayer):
    """Repeat each row ``size[0]`` and each column ``size[1]`` times (nearest neighbour).

    >>> from flowgrad import keras
    >>> keras.layers.UpSampling2D((2, 3))(keras.Input((4, 5, 3))).shape
    (None, 8, 15, 3)
    """

    def __init__(self, size=(2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        if interpolation != "nearest":
            raise ValueError(f"{who}: only interpolation='nearest' is supported, got "
                             f"{interpolation!r}")
        self.size = normalize_tuple(size, 2, "size", who)
        self.data_format = normalize_data_format(data_format, who)
        self.interpolation = interpolation

    def build(self, input_shape) -> None:
        check_build_rank(self, input_shape, 4, layout_name(self.data_format, 2))


    def call(self, inputs):
        shape = check_input_spec(self, inputs, 4)
        height, width = spatial_axes(self.data_format, 2)
        if shape[height] is None or shape[width] is None:
            raise ShapeError(at_user_site(
                f"{describe(self)}: needs the input's height and width, got shape {shape}"
            ))
        out = inputs
        for axis, repeats in ((height, self.size[0]), (width, self.size[1])):
            if repeats > 1:
                out = out.repeat_interleave(repeats, axis)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}

