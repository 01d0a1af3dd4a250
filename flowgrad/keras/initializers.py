"""Keras's initializers, by name or object, for weights in Keras's layouts: a Dense kernel is
``(in, out)``, a convolution kernel ``(*kernel_size, in, out)``; the fans follow from that.
Random ones draw from flowgrad's generator, so ``fg.manual_seed`` makes models repeatable."""

from __future__ import annotations

import math

import numpy as np

from flowgrad import random as fg_random


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fan-in and fan-out of a weight of ``shape``."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """``initializer(shape, dtype)`` -> a NumPy array; ``get_config()`` for saving."""

    def __call__(self, shape, dtype="float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype)

    def get_config(self) -> dict:
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return _rng(self.seed).normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal values redrawn until within two standard deviations of the mean."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return (self.mean + self.stddev * _truncated(_rng(self.seed), shape)).astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Values of variance ``scale / n``, ``n`` the fan-in, fan-out or their mean."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed=None) -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got "
                             f"{mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be truncated_normal, "
                             f"untruncated_normal or uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:  # the standard deviation of a normal truncated at two deviations is 0.8796...
            values = math.sqrt(variance) / 0.87962566103423978 * _truncated(rng, shape)
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _scaled(name: str, scale: float, mode: str, distribution: str) -> type:
    def __init__(self, seed=None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling({scale}, {mode!r}, "
                                                      f"{distribution!r})."})


GlorotUniform = _scaled("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaled("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _scaled("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _scaled("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _scaled("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _scaled("LecunNormal", 1.0, "fan_in", "truncated_normal")

INITIALIZERS: dict[str, type] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
}
_BY_CLASS = {cls.__name__: cls for cls in INITIALIZERS.values()}


def get(identifier) -> Initializer:
    """An initializer from a name (``"glorot_uniform"``, ``"GlorotUniform"``), a config dict
    (``{"class_name": ..., "config": ...}``), an Initializer, or a callable."""
    if isinstance(identifier, Initializer) or (callable(identifier)
                                               and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown initializer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = INITIALIZERS.get(identifier) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"unknown initializer {identifier!r}; valid names: "
                             f"{', '.join(sorted(INITIALIZERS))}")
        return cls()
    raise TypeError(f"an initializer is a name, a config or an Initializer, got "
                    f"{type(identifier).__name__}")


def serialize(initializer) -> dict | str:
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    return getattr(initializer, "__name__", str(initializer))


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed) if seed is not None else fg_random.resolve(None)


def _truncated(rng: np.random.Generator, shape) -> np.ndarray:
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values
