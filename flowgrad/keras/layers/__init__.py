"""Keras layers (channels-last by default), each a flowgrad module underneath."""

from flowgrad.keras.functional import InputLayer
from flowgrad.keras.layer import Layer
from flowgrad.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    ReLU,
    Reshape,
    Softmax,
)

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "InputLayer", "Layer", "ReLU",
           "Reshape", "Softmax"]
