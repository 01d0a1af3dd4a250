"""``keras.Model`` (functional or subclassed) and ``keras.Sequential``."""

from __future__ import annotations

import itertools

import numpy as np

from flowgrad import dtypes
from flowgrad.functions import zeros
from flowgrad.graph.session import _flatten, _unflatten
from flowgrad.keras.functional import (
    Input,
    InputLayer,
    KerasTensor,
    nodes_between,
    run_nodes,
)
from flowgrad.keras.layer import Layer
from flowgrad.keras.saving import load_model
from flowgrad.keras.training import Trainer

__all__ = ["Model", "Sequential", "load_model"]


class Model(Trainer, Layer):
    """A model: layers with ``compile``/``fit``/``evaluate``/``predict``.

    - Functional: ``keras.Model(inputs, outputs)`` with ``keras.Input`` tensors and the
      layer calls between them (several inputs and outputs, shared layers).
    - Subclassed: define layers in ``__init__`` and the computation in ``call``.
    """

    def __init__(self, *args, **kwargs) -> None:
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)
        self._functional = inputs is not None
        if not self._functional:
            return
        if outputs is None:
            raise ValueError("Model: a functional model needs outputs as well as inputs")
        self._input_structure, self._inputs = _flatten(inputs, [])
        self._output_structure, self._outputs = _flatten(outputs, [])
        for tensor in (*self._inputs, *self._outputs):
            if not isinstance(tensor, KerasTensor):
                raise TypeError(f"Model: inputs and outputs must be keras.Input tensors and "
                                f"layer outputs, got {type(tensor).__name__}")
        self._nodes = nodes_between(self._inputs, self._outputs)
        input_layers = [t.node.layer for t in self._inputs]
        for layer in [*input_layers, *(node.layer for node in self._nodes)]:
            if layer.name not in self._modules:
                self._modules[layer.name] = layer
        self.built = True
        self._built_shape = [t.shape for t in self._inputs]
        self.output_shape = (self._outputs[0].shape if len(self._outputs) == 1
                             else [t.shape for t in self._outputs])

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, in the order they run (input layers first)."""
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs) if self._functional else []

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs) if self._functional else []

    @property
    def example_input(self):
        """One sample of zeros shaped as the model's input(s) (a list for several), or None
        while the input shape is unknown: what TensorBoard's graph view traces."""
        inputs = self._inputs if self._functional else getattr(self, "_example_inputs", [])
        if not inputs or any(None in t.shape[1:] for t in inputs):
            return None
        samples = [zeros(1, *t.shape[1:], dtype=dtypes.from_numpy_dtype(np.dtype(t.dtype)))
                   for t in inputs]
        return samples[0] if len(samples) == 1 else samples

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}; layers: "
                         f"{[layer.name for layer in self.layers]}")

    def call(self, inputs, training=None):
        if not self._functional:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed model defines "
                                      f"call(self, inputs)")
        _, values = _flatten(inputs, [])
        if len(values) != len(self._inputs):
            raise ValueError(f"{self.name}: expects {len(self._inputs)} input(s), got "
                             f"{len(values)}")
        known = run_nodes(self._nodes, self._inputs, values, training)
        return _unflatten(self._output_structure, iter(known[id(t)] for t in self._outputs))

    def __call__(self, *args, **kwargs):
        if self._functional and args and not isinstance(args[0], KerasTensor):
            self._check_inputs(args[0])
        return Layer.__call__(self, *args, **kwargs)

    def ensure_built(self, input_shape) -> None:
        if not self.built:
            self.built = True  # a subclassed model's layers build themselves when called
            self._built_shape = None

    def _check_inputs(self, inputs) -> None:
        from flowgrad.errors import ShapeError

        _, values = _flatten(inputs, [])
        for tensor, value in zip(self._inputs, values, strict=False):
            shape = tuple(getattr(value, "shape", ()))
            expected = tensor.shape
            if len(shape) != len(expected) or any(
                    e is not None and e != s for e, s in zip(expected, shape, strict=True)):
                raise ShapeError(f"{self.name}: input {tensor.name!r} expects shape "
                                 f"{expected}, got {shape}")

    def _layer_edges(self) -> list[tuple[str, str]]:
        """(from layer, to layer) for every tensor passed between layers (plot_model)."""
        edges = []
        for node in self._nodes:
            for source in node.inputs:
                edges.append((source.node.layer.name, node.layer.name))
        return edges

    def get_config(self) -> dict:
        """The architecture as JSON-friendly data: each layer's config, and every layer call
        with its arguments (symbolic inputs as ``[layer name, call number, output index]``)."""
        if not self._functional:
            return Layer.get_config(self)
        calls: dict[int, list] = {}
        for node in self._nodes:
            calls.setdefault(id(node.layer), []).append(node)

        def ref(tensor: KerasTensor) -> list:
            made = calls.get(id(tensor.node.layer), [])
            number = made.index(tensor.node) if tensor.node in made else 0
            return [tensor.node.layer.name, number, tensor.index]

        nodes = []
        for node in self._nodes:
            leaves = [{"ref": ref(leaf)} if isinstance(leaf, KerasTensor) else leaf
                      for leaf in node.leaves]
            args, kwargs = _unflatten(node.structure, iter(leaves))
            nodes.append({"layer": node.layer.name, "arguments": [args, kwargs]})
        return {"name": self.name,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers],
                "nodes": nodes, "input_layers": [ref(t) for t in self._inputs],
                "output_layers": [ref(t) for t in self._outputs]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        """Rebuild a functional model from :meth:`get_config` (fresh weights)."""
        from flowgrad.keras.saving import deserialize_layer

        if "nodes" not in config:
            return cls(**config)
        layers = {entry["config"]["name"]: deserialize_layer(entry, custom_objects)
                  for entry in config["layers"]}
        made: dict[str, list] = {name: [] for name in layers}  # layer -> outputs per call
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                made[name].append([layer.output])

        def tensor(reference) -> KerasTensor:
            name, number, index = reference
            return made[name][number][index]

        def resolve(value):
            if isinstance(value, dict) and set(value) == {"ref"}:
                return tensor(value["ref"])
            if isinstance(value, list | tuple):
                return [resolve(v) for v in value]
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            return value

        for node in config["nodes"]:
            args, kwargs = resolve(node["arguments"])
            result = layers[node["layer"]](*args, **kwargs)
            made[node["layer"]].append(list(_flatten(result, [])[1]))
        inputs = [tensor(r) for r in config["input_layers"]]
        outputs = [tensor(r) for r in config["output_layers"]]
        return cls(inputs=inputs if len(inputs) > 1 else inputs[0],
                   outputs=outputs if len(outputs) > 1 else outputs[0], name=config["name"])

    def summary(self, line_length: int | None = None, positions=None, print_fn=None):
        """Print the table of layers, output shapes and parameter counts (as Keras)."""
        from flowgrad.keras.summary import summary

        summary(self, line_length, positions, print_fn)

    def save(self, filepath, overwrite: bool = True) -> None:
        """The architecture (JSON) and weights in one safetensors file; see saving.py."""
        from flowgrad.keras.saving import save_model

        save_model(self, filepath, overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        from flowgrad.keras.saving import save_weights

        save_weights(self, filepath, overwrite)

    def load_weights(self, filepath) -> None:
        from flowgrad.keras.saving import load_weights

        load_weights(self, filepath)


class Sequential(Model):
    """A stack of layers, each feeding the next: ``keras.Sequential([...])`` and ``.add``.

    The first layer's ``input_shape=`` (or a ``keras.Input`` first) builds the whole model at
    once; otherwise it builds on the first input it is called on.
    """

    def __init__(self, layers=None, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._stack: list[Layer] = []
        self._input: KerasTensor | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append ``layer`` (or a ``keras.Input``, which fixes the input shape)."""
        if isinstance(layer, KerasTensor):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("Sequential.add: an Input must come first")
            self._input = layer.output
            self._build_symbolic()
            return
        if layer.name in self._modules:
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in "
                             f"the model; layer names must be unique")
        self._stack.append(layer)
        self._modules[layer.name] = layer
        if self._input is None and len(self._stack) == 1 and layer._batch_input_shape:
            self._input = Input(batch_shape=layer._batch_input_shape)
        if self._input is not None:
            self._build_symbolic()

    def _build_symbolic(self) -> None:
        """Run the stack on the symbolic input: every layer builds, shapes are known."""
        tensor = self._input
        for layer in self._stack:
            tensor = layer(tensor)
        self.built = bool(self._stack)
        self._built_shape = self._input.shape
        self.output_shape = tensor.shape if self._stack else None

    def pop(self) -> Layer:
        layer = self._stack.pop()
        del self._modules[layer.name]
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    @property
    def _example_inputs(self) -> list[KerasTensor]:
        return [self._input] if self._input is not None else []

    def call(self, inputs, training=None):
        out = inputs
        for layer in self._stack:
            out = layer(out, training=training)  # dropped by layers whose call takes none
        return out

    def ensure_built(self, input_shape) -> None:
        if not self.built and self._input is None and isinstance(input_shape, tuple):
            self._input = Input(batch_shape=(None, *input_shape[1:]))
            self._build_symbolic()
        self.built = True

    def __call__(self, *args, **kwargs):
        if not self._stack:
            raise ValueError("Sequential: the model has no layers; add some first")
        return Layer.__call__(self, *args, **kwargs)

    def _layer_edges(self) -> list[tuple[str, str]]:
        names = [layer.name for layer in self._stack]
        return list(itertools.pairwise(names))

    def get_config(self) -> dict:
        layers = [{"class_name": type(layer).__name__, "config": layer.get_config()}
                  for layer in self._stack]
        config = {"name": self.name, "layers": layers}
        if self._input is not None:
            config["batch_input_shape"] = list(self._input.shape)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Sequential:
        from flowgrad.keras.saving import deserialize_layer

        model = cls(name=config["name"])
        if config.get("batch_input_shape"):
            model.add(Input(batch_shape=tuple(config["batch_input_shape"])))
        for entry in config["layers"]:
            model.add(deserialize_layer(entry, custom_objects))
        return model
