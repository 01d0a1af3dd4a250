"""Normalisation layers with Keras's conventions: BatchNormalization and LayerNormalization.

Keras's batch normalisation differs from PyTorch's (and from ``fg.nn.functional.batch_norm``)
in three ways, matched here: the channel axis is any axis (last by default); the moving
statistics move as ``moving * momentum + batch * (1 - momentum)`` (``momentum=0.99`` is
PyTorch's 0.01); and the moving variance takes the biased batch variance, the same one the
normalisation divides by.
"""

from __future__ import annotations

from flowgrad.autograd.mode import no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras import initializers
from flowgrad.keras.layer import Layer
from flowgrad.keras.layers.conv import CheckedLayer, check_input_spec, describe
from flowgrad.nn import functional as NF


def _positive_axis(layer: Layer, axis: int, ndim: int, input_shape) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(at_user_site(
            f"{describe(layer)}: axis {axis} is out of range for inputs of shape "
            f"{tuple(input_shape)} ({ndim} dimensions)"
        ))
    return axis % ndim


def _known(layer: Layer, input_shape, axes) -> tuple[int, ...]:
    sizes = tuple(input_shape[a] for a in axes)
    if None in sizes:
        raise ShapeError(at_user_site(
            f"{describe(layer)}: the normalised dimensions {tuple(axes)} of its input must be "
            f"known, got shape {tuple(input_shape)}"
        ))
    return sizes


class BatchNormalization(CheckedLayer):
    """Normalise each channel (dimension ``axis``) by the batch's mean and variance while
    training, and by the moving averages of those in inference; then scale by ``gamma`` and
    shift by ``beta``. A frozen layer (``trainable=False``) always uses the moving averages.

    >>> from flowgrad import keras
    >>> layer = keras.layers.BatchNormalization()
    >>> layer(keras.Input((8, 8, 16))).shape
    (None, 8, 8, 16)
    >>> layer.count_params(), len(layer.trainable_weights)
    (64, 2)
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        if not isinstance(axis, int):
            raise ValueError(f"{who}: axis must be an int, got {axis!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"{who}: momentum must be in [0, 1], got {momentum}")
        if epsilon <= 0:
            raise ValueError(f"{who}: epsilon must be positive, got {epsilon}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        axis = _positive_axis(self, self.axis, ndim, input_shape)
        if axis == 0:
            raise ShapeError(at_user_site(
                f"{describe(self)}: axis {self.axis} is the batch dimension of inputs of shape "
                f"{tuple(input_shape)}; normalise a feature or channel axis"
            ))
        (channels,) = _known(self, input_shape, (axis,))
        if self.scale:
            self.add_weight("gamma", (channels,), self.gamma_initializer)
        if self.center:
            self.add_weight("beta", (channels,), self.beta_initializer)
        self.add_weight("moving_mean", (channels,), self.moving_mean_initializer,
                        trainable=False)
        self.add_weight("moving_variance", (channels,), self.moving_variance_initializer,
                        trainable=False)
        self._ndim, self._axis, self._channels = ndim, axis, channels
        self._reduced = tuple(a for a in range(ndim) if a != axis)
        self._param_shape = (channels,) + (1,) * (ndim - 1 - axis)  # broadcasts at axis


    def call(self, inputs, training=None):
        check_input_spec(self, inputs, self._ndim, self._axis, self._channels)
        shape = self._param_shape
        if not (training and self.trainable):
            # (x - mean) * gamma / sqrt(var + eps) + beta, the factors combined on (C,) first
            scale = (self.moving_variance + self.epsilon).rsqrt()
            if self.scale:
                scale = scale * self.gamma
            shift = -self.moving_mean * scale
            if self.center:
                shift = shift + self.beta
            return inputs * scale.reshape(shape) + shift.reshape(shape)
        mean = inputs.mean(self._reduced, keepdim=True)
        centered = inputs + (-mean)  # the gradient's negation then runs on the small mean
        var = (centered * centered).mean(self._reduced, keepdim=True)
        scale = (var + self.epsilon).rsqrt()
        if self.scale:
            scale = scale * self.gamma.reshape(shape)
        out = centered * scale
        if self.center:
            out = out + self.beta.reshape(shape)
        with no_grad():
            keep = self.momentum
            self.moving_mean.mul_(keep).add_(mean.detach().reshape(-1), alpha=1 - keep)
            self.moving_variance.mul_(keep).add_(var.detach().reshape(-1), alpha=1 - keep)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer)}


class LayerNormalization(CheckedLayer):
    """Normalise each sample over ``axis`` (an int or a list; the last by default), then
    scale by ``gamma`` and shift by ``beta`` of the normalised dimensions' shape. With
    ``rms_scaling`` (no ``beta``), divide by Keras's ``sqrt(variance + epsilon)`` only.

    >>> from flowgrad import keras
    >>> layer = keras.layers.LayerNormalization()
    >>> layer(keras.Input((10, 16))).shape
    (None, 10, 16)
    >>> layer.count_params()
    32
    """

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        if not axes or any(not isinstance(a, int) for a in axes):
            raise ValueError(f"{who}: axis must be an int or a list of ints, got {axis!r}")
        if epsilon <= 0:
            raise ValueError(f"{who}: epsilon must be positive, got {epsilon}")
        self.axis = axis if isinstance(axis, int) else sorted(axes)
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = sorted({_positive_axis(self, a, ndim, input_shape) for a in axes})
        if 0 in axes:
            raise ShapeError(at_user_site(
                f"{describe(self)}: axis {self.axis} includes the batch dimension of inputs of "
                f"shape {tuple(input_shape)}"
            ))
        sizes = _known(self, input_shape, axes)
        if self.scale or self.rms_scaling:
            self.add_weight("gamma", sizes, self.gamma_initializer)
        if self.center and not self.rms_scaling:
            self.add_weight("beta", sizes, self.beta_initializer)
        self._ndim, self._axes, self._sizes = ndim, tuple(axes), sizes
        others = [a for a in range(ndim) if a not in axes]
        trailing = tuple(axes) == tuple(range(ndim - len(axes), ndim))
        # Normalised axes not at the end are permuted there (a view) and back.
        self._order = None if trailing else (*others, *axes)


    def call(self, inputs):
        shape = check_input_spec(self, inputs, self._ndim)
        if tuple(shape[a] for a in self._axes) != self._sizes:
            raise ShapeError(at_user_site(
                f"Input 0 of layer {describe(self)} is incompatible with the layer: it "
                f"normalises dimensions {self._axes} of sizes {self._sizes}, got shape {shape}"
            ))
        x = inputs if self._order is None else inputs.permute(*self._order)
        gamma = getattr(self, "gamma", None)
        if self.rms_scaling:
            axes = tuple(range(self._ndim - len(self._axes), self._ndim))
            mean = x.mean(axes, keepdim=True)
            centered = x + (-mean)
            out = x * ((centered * centered).mean(axes, keepdim=True) + self.epsilon).rsqrt()
            out = out * gamma
        else:
            out = NF.layer_norm(x, self._sizes, gamma, getattr(self, "beta", None),
                                self.epsilon)
        if self._order is not None:
            inverse = sorted(range(self._ndim), key=self._order.__getitem__)
            out = out.permute(*inverse)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer)}
