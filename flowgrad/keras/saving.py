"""``model.save`` / ``keras.models.load_model`` and ``save_weights`` / ``load_weights``.

A saved model is one safetensors file: its weights under their state-dict names
(``dense.kernel``), and in the file's metadata, as JSON, the architecture (each layer's
config, and for a functional model every layer call) and the compile arguments. Nothing is
pickled, so loading a model runs no code from the file; a subclassed model or a custom layer
is rebuilt from its ``get_config()`` by the class given in ``custom_objects``.
"""

from __future__ import annotations

import json
import os

from flowgrad.errors import CheckpointError
from flowgrad.io import safetensors
from flowgrad.io.checkpoint import load, save

FORMAT = "flowgrad.keras"  # the metadata key holding the architecture


def save_model(model, filepath, overwrite: bool = True) -> None:
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save: {filepath} exists and overwrite=False")
    document = {"format_version": 1, "class_name": type(model).__name__,
                "config": model.get_config(), "compile_config": _compile_config(model)}
    try:
        text = json.dumps(document)
    except TypeError as exc:
        raise CheckpointError(f"save: the model's config is not JSON-serialisable ({exc}); "
                              f"a custom layer's get_config() must return plain values"
                              ) from None
    save(model.state_dict(), filepath, metadata={FORMAT: text})


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True):
    """The model saved at ``filepath``: rebuilt from its config, its weights loaded, and
    compiled again as it was (unless ``compile=False``)."""
    _, metadata = safetensors.read(filepath)
    text = metadata.get(FORMAT)
    if text is None:
        raise CheckpointError(f"load_model: {filepath} holds weights only, no model "
                              f"architecture (written by save_weights?); build the model "
                              f"and call load_weights")
    document = json.loads(text)
    model = deserialize_layer(document, custom_objects)
    model.load_state_dict(load(filepath))
    compile_config = document.get("compile_config")
    if compile and compile_config:
        _compile_from(model, compile_config)
    return model


def save_weights(model, filepath, overwrite: bool = True) -> None:
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
    save(model.state_dict(), filepath)


def load_weights(model, filepath) -> None:
    """Load weights saved by ``save_weights`` or ``save``. They are matched by name, or, when
    the names differ (the same architecture built again gets new automatic layer names), by
    position, as Keras matches layers; shapes must agree, else the model is unchanged."""
    saved = load(filepath)
    own = model.state_dict()
    if set(saved) != set(own) and len(saved) == len(own):
        saved = dict(zip(own, saved.values(), strict=True))
    model.load_state_dict(saved)


def deserialize_layer(entry: dict, custom_objects: dict | None = None):
    """A layer or model from ``{"class_name": ..., "config": ...}``."""
    from flowgrad.keras import layers, models

    name = entry["class_name"]
    known = {**{k: v for k, v in vars(layers).items() if isinstance(v, type)},
             "Sequential": models.Sequential, "Model": models.Model,
             **(custom_objects or {})}
    cls = known.get(name)
    if cls is None:
        raise ValueError(f"load: unknown layer or model class {name!r}; pass it in "
                         f"custom_objects={{'{name}': {name}}}")
    config = dict(entry["config"])
    if isinstance(cls, type) and issubclass(cls, models.Model):
        return cls.from_config(config, custom_objects)
    return cls.from_config(config)


def _compile_config(model) -> dict | None:
    if not getattr(model, "compiled", False):
        return None
    from flowgrad.keras import losses

    optimizer = model.optimizer
    return {"optimizer": {"class_name": type(optimizer).__name__,
                          "config": optimizer.get_config()},
            "loss": _plain(model.loss, losses.serialize),
            "metrics": _plain(model._metric_specs, _name_of),
            "run_eagerly": model.run_eagerly}


def _compile_from(model, config: dict) -> None:
    from flowgrad.keras import optimizers

    optimizer = optimizers.get(config["optimizer"]["class_name"])
    optimizer = type(optimizer).from_config(config["optimizer"]["config"])
    model.compile(optimizer=optimizer, loss=config["loss"], metrics=config["metrics"],
                  run_eagerly=config.get("run_eagerly", False))


def _plain(value, serialize):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, serialize) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, serialize) for k, v in value.items()}
    return serialize(value)


def _name_of(value):
    return getattr(value, "name", None) or getattr(value, "__name__", str(value))
