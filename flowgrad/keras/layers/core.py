"""Core Keras layers: Dense, Activation, Flatten, Reshape, Dropout, ReLU, Softmax."""

from __future__ import annotations

import math

from flowgrad import functions as F
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras import activations, initializers
from flowgrad.keras.layer import Layer
from flowgrad.nn import functional as NF


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; ``kernel`` is ``(in, units)``.

    >>> from flowgrad import keras
    >>> layer = keras.layers.Dense(3, activation="relu")
    >>> layer(keras.Input((4,))).shape
    (None, 3)
    >>> layer.count_params()
    15
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ShapeError(f"Dense {self.name!r}: the last dimension of its input must be "
                             f"known, got shape {input_shape}")
        self.add_weight("kernel", (features, self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def call(self, inputs):
        out = F.matmul(inputs, self.kernel)  # (..., in) @ (in, units): no transpose
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}


class Activation(Layer):
    def __init__(self, activation, **kwargs) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    """``min(max(x, threshold-relative negative slope), max_value)``, as Keras's ReLU."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        if self.negative_slope == 0 and self.threshold == 0:
            out = F.relu(inputs)
        else:
            below = (inputs - self.threshold) * self.negative_slope
            out = F.where(inputs >= self.threshold, inputs, below)
        if self.max_value is not None:
            out = F.clamp(out, max=self.max_value)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class Softmax(Layer):
    def __init__(self, axis: int = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return F.softmax(inputs, self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Flatten(Layer):
    """Everything but the batch dimension in one axis (channels-last order, as Keras)."""

    def __init__(self, data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = inputs.permute(0, *range(2, inputs.ndim), 1)
        return F.flatten(inputs, 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape everything but the batch dimension to ``target_shape`` (one -1 allowed)."""

    def __init__(self, target_shape, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {target_shape}")

    def build(self, input_shape) -> None:
        size = math.prod(d for d in input_shape[1:] if d is not None)
        known = math.prod(d for d in self.target_shape if d != -1)
        if None not in input_shape[1:] and (
                (-1 not in self.target_shape and size != known) or size % known):
            raise ShapeError(at_user_site(
                f"Reshape {self.name!r}: cannot reshape inputs of shape {input_shape} "
                f"({size} values per sample) to {self.target_shape}"
            ))

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs while training (scaling the rest)."""

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported; use SpatialDropout")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return NF.dropout(inputs, self.rate, training=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
