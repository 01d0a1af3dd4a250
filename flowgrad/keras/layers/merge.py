"""Merge layers: combine a list of tensors elementwise (Add, Subtract, Multiply, Average,
Maximum, Minimum) or join them along an axis (Concatenate).

Shapes follow Keras: the batch sizes agree, and the other dimensions broadcast as NumPy's
do (equal, or 1); an input of lower rank gains size-1 dimensions after its batch dimension.
"""

from __future__ import annotations

from flowgrad import functions as F
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.keras.layer import Layer
from flowgrad.keras.layers.conv import CheckedLayer, describe
from flowgrad.tensor import Tensor


def _shape_list(layer: Layer, input_shape, least: int) -> list[tuple]:
    """The input shapes of a merge layer, which must be a list of at least ``least``."""
    if not isinstance(input_shape, list | tuple) or not all(
            isinstance(s, list | tuple) for s in input_shape):
        raise ValueError(at_user_site(
            f"{describe(layer)}: a merge layer is called on a list of inputs, got an input of "
            f"shape {input_shape}"
        ))
    if len(input_shape) < least:
        raise ValueError(at_user_site(
            f"{describe(layer)}: expected a list of at least {least} inputs, got "
            f"{len(input_shape)}"
        ))
    return [tuple(s) for s in input_shape]


def _tensor_list(layer: Layer, inputs) -> list[Tensor]:
    if not isinstance(inputs, list | tuple) or not all(isinstance(t, Tensor) for t in inputs):
        raise ValueError(at_user_site(
            f"{describe(layer)}: a merge layer is called on a list of tensors, got "
            f"{type(inputs).__name__}"
        ))
    return list(inputs)


def _broadcast_dim(a, b):
    """The size two broadcast dimensions give, or -1 when they do not broadcast."""
    if a is None or b is None:
        return b if a == 1 else a if b == 1 else None
    if a == b or b == 1:
        return a
    return b if a == 1 else -1


class Merge(CheckedLayer):
    """The base of the elementwise merge layers: subclasses define :meth:`merge`."""

    least_inputs = 1
    most_inputs: int | None = None

    def build(self, input_shape) -> None:
        _shape_list(self, input_shape, self.least_inputs)


    def _output_shape(self, input_shape) -> tuple:
        """The shape of the merged output, checking that ``input_shape`` broadcast."""
        shapes = _shape_list(self, input_shape, self.least_inputs)
        if self.most_inputs is not None and len(shapes) > self.most_inputs:
            raise ValueError(at_user_site(
                f"{describe(self)}: expected exactly {self.most_inputs} inputs, got "
                f"{len(shapes)} (shapes {shapes})"
            ))
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ShapeError(at_user_site(
                f"{describe(self)}: inputs have different batch sizes (shapes "
                f"{', '.join(map(str, shapes))})"
            ))
        out = shapes[0][1:]
        for index, shape in enumerate(shapes[1:], start=1):
            rest = shape[1:]
            width = max(len(out), len(rest))
            padded_out = (1,) * (width - len(out)) + out
            padded_rest = (1,) * (width - len(rest)) + rest
            merged = tuple(_broadcast_dim(a, b) for a, b in zip(padded_out, padded_rest,
                                                                strict=True))
            if -1 in merged:
                raise ShapeError(at_user_site(
                    f"{describe(self)}: input {index} of shape {shape} does not match the "
                    f"inputs before it (shapes {', '.join(map(str, shapes[:index]))}); "
                    f"expected equal sizes, or 1, in every dimension after the batch"
                ))
            out = merged
        return (None, *out)

    def call(self, inputs):
        tensors = _tensor_list(self, inputs)
        self._output_shape([tuple(t.shape) for t in tensors])
        rank = max(t.ndim for t in tensors)
        aligned = []
        for tensor in tensors:
            for _ in range(rank - tensor.ndim):
                tensor = tensor.unsqueeze(1)
            aligned.append(tensor)
        return self.merge(aligned)

    def merge(self, tensors: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(Merge):
    """The sum of the inputs.

    >>> from flowgrad import keras
    >>> a, b = keras.Input((4,)), keras.Input((4,))
    >>> keras.layers.Add()([a, b]).shape
    (None, 4)
    """

    def merge(self, tensors):
        out = tensors[0]
        for tensor in tensors[1:]:
            out = out + tensor
        return out


class Subtract(Merge):
    """The first input minus the second (exactly two inputs)."""

    least_inputs = most_inputs = 2

    def merge(self, tensors):
        return tensors[0] - tensors[1]


class Multiply(Merge):
    """The elementwise product of the inputs."""

    def merge(self, tensors):
        out = tensors[0]
        for tensor in tensors[1:]:
            out = out * tensor
        return out


class Average(Merge):
    """The elementwise mean of the inputs."""

    def merge(self, tensors):
        return Add.merge(self, tensors) / len(tensors)


class Maximum(Merge):
    """The elementwise maximum of the inputs."""

    def merge(self, tensors):
        out = tensors[0]
        for tensor in tensors[1:]:
            out = F.maximum(out, tensor)
        return out


class Minimum(Merge):
    """The elementwise minimum of the inputs."""

    def merge(self, tensors):
        out = tensors[0]
        for tensor in tensors[1:]:
            out = F.minimum(out, tensor)
        return out


class Concatenate(CheckedLayer):
    """Join the inputs along ``axis``; their other dimensions must be equal.

    >>> from flowgrad import keras
    >>> a, b = keras.Input((4, 3)), keras.Input((4, 5))
    >>> keras.layers.Concatenate()([a, b]).shape
    (None, 4, 8)
    """

    def __init__(self, axis: int = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise ValueError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = axis

    def build(self, input_shape) -> None:
        _shape_list(self, input_shape, 1)


    def _check_shapes(self, shapes: list[tuple]) -> int:
        """The axis as a non-negative int, after checking the shapes agree elsewhere."""
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ShapeError(at_user_site(
                f"{describe(self)}: axis {self.axis} is out of range for inputs of shape "
                f"{shapes[0]}"
            ))
        axis = self.axis % rank
        first = shapes[0]
        for index, shape in enumerate(shapes[1:], start=1):
            agree = len(shape) == rank and all(
                a == b or a is None or b is None
                for d, (a, b) in enumerate(zip(first, shape, strict=True)) if d != axis)
            if not agree:
                raise ShapeError(at_user_site(
                    f"{describe(self)}: input {index} of shape {shape} does not match input 0 "
                    f"of shape {first}; expected equal sizes in every dimension but the "
                    f"concatenation axis {self.axis}"
                ))
        return axis

    def call(self, inputs):
        tensors = _tensor_list(self, inputs)
        axis = self._check_shapes([tuple(t.shape) for t in tensors])
        return F.cat(tensors, axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
