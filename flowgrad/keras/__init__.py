"""``from flowgrad import keras``: Keras's API -- Sequential and functional models, layers,
compile/fit/evaluate/predict, callbacks -- over flowgrad's modules, optimizers and compiler.

>>> import numpy as np
>>> from flowgrad import keras
>>> model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
...                           keras.layers.Dense(1)])
>>> model.count_params()
49
"""

from flowgrad.keras import (
    activations,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    saving,
    utils,
)
from flowgrad.keras.functional import Input, KerasTensor
from flowgrad.keras.models import Model, Sequential
from flowgrad.keras.saving import load_model

__all__ = ["Input", "KerasTensor", "Model", "Sequential", "activations", "callbacks",
           "initializers", "layers", "load_model", "losses", "metrics", "models", "optimizers",
           "saving", "utils"]
