"""``keras.layers.Layer``: a flowgrad module with Keras's manners.

A layer makes its weights lazily, in ``build(input_shape)``, from the first input it sees
(or at once when given ``input_shape=``), in Keras's layouts; it is called on tensors eagerly,
or on symbolic ``keras.Input`` tensors to describe a functional model (see functional.py).
Being an ``nn.Module`` underneath, its weights are flowgrad Parameters: flowgrad's optimizers,
``fg.compile`` and checkpoints work on a Keras model as on any other module.
"""

from __future__ import annotations

import contextvars
import inspect
import re
from collections import defaultdict

import numpy as np

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras import initializers
from flowgrad.nn.module import Module
from flowgrad.tensor import Parameter, Tensor

_NAME_COUNTS: defaultdict[str, int] = defaultdict(int)


def unique_name(base: str) -> str:
    """Keras's automatic names: ``dense``, ``dense_1``, ``dense_2``..."""
    count = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(Module):
    """The base of every Keras layer: ``build``, ``call``, weights, configs.

    Subclasses make weights in ``build(input_shape)`` with :meth:`add_weight` and compute in
    ``call(inputs, ...)``; a ``training`` argument of ``call`` receives the model's mode.
    """

    _BASE_ARGUMENTS = ("name", "trainable", "dtype", "input_shape", "batch_input_shape",
                       "batch_size", "input_dim")

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape=None, batch_input_shape=None, batch_size=None, input_dim=None,
                 **unknown) -> None:
        super().__init__()
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(unknown))}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self._trainable = bool(trainable)
        self.dtype = np.dtype(getattr(dtype, "np", dtype) or "float32").name
        self._weight_names: list[str] = []  # in creation order, as get_weights returns them
        self._weight_trainable: dict[str, bool] = {}  # as made (a frozen layer may thaw)
        self._built_shape = None  # the input shape build() was given (batch dim None)
        self.output_shape = None  # of the last call, batch dim None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            batch_input_shape = (batch_size, *_as_shape(input_shape))
        self._batch_input_shape = (tuple(batch_input_shape) if batch_input_shape is not None
                                   else None)

    # -- weights --------------------------------------------------------------------------

    def add_weight(self, name: str, shape, initializer="glorot_uniform", trainable: bool = True,
                   dtype=None) -> Parameter:
        """A new weight of ``shape``, filled by ``initializer``, registered on this layer."""
        shape = tuple(int(d) for d in shape)
        values = initializers.get(initializer)(shape, dtype or self.dtype)
        weight = Parameter(Tensor._wrap(np.asarray(values, dtype=dtype or self.dtype)))
        weight.requires_grad_(trainable and self._trainable)
        setattr(self, name, weight)
        self._weight_names.append(name)
        self._weight_trainable[name] = trainable
        return weight

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze or unfreeze this layer and the layers inside it (as Keras)."""
        for layer in self._layers_within():
            layer._trainable = bool(value)
            for name in layer._weight_names:
                getattr(layer, name).requires_grad_(bool(value) and
                                                    layer._weight_trainable[name])

    @property
    def weights(self) -> list[Parameter]:
        """Layer by layer (as Keras): each layer's trainable weights, then its others."""
        return self._all_weights()

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [w for w in self._all_weights() if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        return [w for w in self._all_weights() if not w.requires_grad]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights' values, in Keras's order and layouts."""
        return [w._data.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Set every weight from ``weights`` (as :meth:`get_weights` gives them); all shapes
        are checked first, so a mismatch changes nothing."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"{self.name}.set_weights: expected {len(own)} arrays, got "
                             f"{len(weights)}")
        arrays = []
        for index, (target, value) in enumerate(zip(own, weights, strict=True)):
            array = np.asarray(value._data if isinstance(value, Tensor) else value)
            if array.shape != target._data.shape:
                raise ShapeError(f"{self.name}.set_weights: weight {index} has shape "
                                 f"{target._data.shape}, got an array of shape {array.shape}")
            arrays.append(array)
        for target, array in zip(own, arrays, strict=True):
            target._data[...] = array
            target._bump_version()

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"{self.name}.count_params: the layer is not built yet; call it "
                             f"on an input or give input_shape=")
        return sum(w.numel() for w in self._all_weights())

    def _own_weights(self) -> list[Parameter]:
        return [getattr(self, name) for name in self._weight_names]

    def _layers_within(self) -> list[Layer]:
        return [m for m in self.modules() if isinstance(m, Layer)]

    def _all_weights(self) -> list[Parameter]:
        seen, weights = set(), []
        for layer in self._layers_within():
            own = layer._own_weights()
            for weight in [w for w in own if w.requires_grad] + [
                    w for w in own if not w.requires_grad]:
                if id(weight) not in seen:
                    seen.add(id(weight))
                    weights.append(weight)
        return weights

    # -- building and calling --------------------------------------------------------------

    def build(self, input_shape) -> None:
        """Make the weights for inputs of ``input_shape`` (batch dimension None)."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no call(); define "
                                  f"call(self, inputs) in the subclass")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def ensure_built(self, input_shape) -> None:
        """Build from ``input_shape`` (the batch dimension made None) if not built yet."""
        if self.built:
            return
        shape = _batchless(input_shape)
        self.build(shape)
        self.built = True
        self._built_shape = shape

    def __call__(self, *args, **kwargs):
        from flowgrad.keras import functional

        if functional.has_keras_tensor(args, kwargs):
            return functional.call_layer(self, args, kwargs)
        if args and not isinstance(args[0], Tensor):  # NumPy data, as Keras takes it
            args = (_as_tensors(args[0]), *args[1:])
        if args:
            self.ensure_built(_shape_of(args[0]))
            self._check_input(args[0])
        training = kwargs.get("training")
        if training is None:
            training = _TRAINING.get()
        if _takes_training(type(self)):
            kwargs["training"] = bool(training)
        else:
            kwargs.pop("training", None)
        token = _TRAINING.set(training)  # layers called inside this call inherit the mode
        try:
            result = super().__call__(*args, **kwargs)
        finally:
            _TRAINING.reset(token)
        self.output_shape = _batchless(_shape_of(result))
        return result

    def _check_input(self, inputs) -> None:
        """Keras's input check: the rank and last dimension build() saw must match."""
        built = self._built_shape
        if not isinstance(inputs, Tensor) or not isinstance(built, tuple) or not built:
            return
        shape = tuple(inputs.shape)
        if len(shape) != len(built) or (built[-1] is not None and shape[-1] != built[-1]):
            raise ShapeError(at_user_site(
                f"Input 0 of layer {self.name!r} ({type(self).__name__}) is incompatible with "
                f"the layer: it was built for inputs of shape {built}, got shape {shape}"
            ))

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch dimension None), found by calling the
        layer on a symbolic input."""
        from flowgrad.keras.functional import Input

        return self(Input(batch_shape=tuple(input_shape))).shape

    # -- configs ---------------------------------------------------------------------------

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_TRAINING_ARGUMENT: dict[type, bool] = {}
#: The ``training`` mode of the layer call in progress: Keras's call context. A layer called
#: directly, outside any call that says, runs in inference mode (as in Keras).
_TRAINING: contextvars.ContextVar[bool | None] = contextvars.ContextVar("training",
                                                                        default=None)


def _takes_training(cls: type) -> bool:
    """Whether ``cls.call`` has a ``training`` parameter (looked up once per class)."""
    known = _TRAINING_ARGUMENT.get(cls)
    if known is None:
        known = _TRAINING_ARGUMENT[cls] = "training" in inspect.signature(cls.call).parameters
    return known


def _as_tensors(value):
    """Arrays (or lists/tuples/dicts of them, for several inputs) as tensors."""
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value if value.dtype != np.float64 else value.astype(np.float32))
    if isinstance(value, list | tuple):
        return type(value)(_as_tensors(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return value


def _as_shape(shape) -> tuple:
    if isinstance(shape, int):
        return (shape,)
    return tuple(None if d is None else int(d) for d in shape)


def _shape_of(value):
    if isinstance(value, Tensor):
        return tuple(value.shape)
    if isinstance(value, list | tuple):
        return [_shape_of(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.shape
    return None


def _batchless(shape):
    """``shape`` with its batch dimension None (each of a list of shapes)."""
    if isinstance(shape, list):
        return [_batchless(s) for s in shape]
    if isinstance(shape, tuple) and shape:
        return (None, *shape[1:])
    return shape
