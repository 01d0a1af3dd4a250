"""Keras layers (channels-last by default), each a flowgrad module underneath."""

from flowgrad.keras.functional import Input, InputLayer
from flowgrad.keras.layer import Layer
from flowgrad.keras.layers.conv import Conv1D, Conv2D, UpSampling2D, ZeroPadding2D
from flowgrad.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    ReLU,
    Reshape,
    Softmax,
)
from flowgrad.keras.layers.embedding import Embedding
from flowgrad.keras.layers.merge import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from flowgrad.keras.layers.normalization import BatchNormalization, LayerNormalization
from flowgrad.keras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)

Convolution1D, Convolution2D = Conv1D, Conv2D

__all__ = ["Activation", "Add", "Average", "AveragePooling1D", "AveragePooling2D",
           "AvgPool1D", "AvgPool2D", "BatchNormalization", "Concatenate", "Conv1D", "Conv2D",
           "Convolution1D", "Convolution2D", "Dense", "Dropout", "Embedding", "Flatten",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "Input", "InputLayer", "Layer", "LayerNormalization", "MaxPool1D",
           "MaxPool2D", "MaxPooling1D", "MaxPooling2D", "Maximum", "Minimum", "Multiply",
           "ReLU", "Reshape", "Softmax", "Subtract", "UpSampling2D", "ZeroPadding2D"]
