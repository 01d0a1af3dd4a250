"""``Embedding``: rows of a trainable ``(input_dim, output_dim)`` table at integer indices."""

from __future__ import annotations

from flowgrad.keras import initializers
from flowgrad.keras.layers.conv import CheckedLayer
from flowgrad.nn import functional as NF


class Embedding(CheckedLayer):
    """Map each index in ``[0, input_dim)`` to a learned vector of ``output_dim`` values:
    ``(batch, ...)`` -> ``(batch, ..., output_dim)``. Float indices (as a model's default
    float32 ``keras.Input`` gives) are truncated to integers, as Keras does. With
    ``mask_zero``, index 0 is padding and :meth:`compute_mask` says where it is.

    >>> from flowgrad import keras
    >>> layer = keras.layers.Embedding(1000, 64)
    >>> layer(keras.Input((10,), dtype="int64")).shape
    (None, 10, 64)
    >>> layer.count_params()
    64000
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 mask_zero: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, bool(mask_zero)
        if embeddings_initializer == "uniform":  # Keras's alias of RandomUniform(-0.05, 0.05)
            embeddings_initializer = "random_uniform"
        self.embeddings_initializer = initializers.get(embeddings_initializer)

    def build(self, input_shape) -> None:
        self.add_weight("embeddings", (self.input_dim, self.output_dim),
                        self.embeddings_initializer)


    def call(self, inputs):
        indices = inputs.long() if inputs.is_floating_point() else inputs
        return NF.embedding(indices, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """Where the indices are not 0 (padding), when ``mask_zero``; else None."""
        return inputs != 0 if self.mask_zero else None

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "mask_zero": self.mask_zero}
