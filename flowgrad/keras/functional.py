"""The functional API: ``keras.Input``, layers called on symbolic tensors, and the graph of
layer calls a ``keras.Model(inputs, outputs)`` runs.

A :class:`KerasTensor` wraps a flowgrad symbolic tensor (a placeholder with an unknown batch
dimension, in one graph kept for the purpose), so calling a layer on it runs the layer's own
``call`` in graph mode: its weights get built, its output shape and dtype come from flowgrad's
shape rules, and nothing is computed. Each call is recorded as a :class:`Node`; a model walks
the nodes back from its outputs and replays them on real tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flowgrad.graph.build import placeholder
from flowgrad.graph.ir import Graph
from flowgrad.graph.session import _flatten, _unflatten
from flowgrad.keras.layer import Layer, unique_name
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor

_GRAPH: Graph | None = None


def _graph() -> Graph:
    """The graph in which symbolic Keras tensors live (one, so any of them can be combined)."""
    global _GRAPH
    if _GRAPH is None:
        _GRAPH = Graph()
    return _GRAPH


@dataclass(eq=False)
class Node:
    """One call of a layer on symbolic tensors: what a functional model replays."""

    layer: Layer
    structure: object  # of (args, kwargs), KerasTensors as leaves
    leaves: list
    outputs: list = field(default_factory=list)

    @property
    def inputs(self) -> list[KerasTensor]:
        return [leaf for leaf in self.leaves if isinstance(leaf, KerasTensor)]


class KerasTensor:
    """A symbolic tensor of a functional model: a shape (batch dimension None) and a dtype,
    and the layer call that made it."""

    def __init__(self, symbolic: Tensor, node: Node | None, index: int = 0,
                 name: str | None = None) -> None:
        self._symbolic = symbolic
        self.node, self.index = node, index
        self.name = name or (node.layer.name if node else "keras_tensor")

    @property
    def shape(self) -> tuple:
        return tuple(self._symbolic._data.shape)

    @property
    def dtype(self) -> str:
        return np.dtype(self._symbolic._data.dtype).name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        made = f", created by layer {self.node.layer.name!r}" if self.node else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{made}>"

    def __bool__(self) -> bool:
        raise TypeError("a KerasTensor is symbolic: it has no truth value (use it in layers)")

    def __array__(self, *args, **kwargs):
        raise TypeError("a KerasTensor is symbolic: it has no values; build a keras.Model "
                        "from it and call the model on data")


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it passes its input through."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, batch_input_shape=None, **kwargs) -> None:
        shape = shape if shape is not None else input_shape
        if batch_shape is None:
            batch_shape = batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input: give shape (without the batch size) or batch_shape")
            batch_shape = (batch_size, *((shape,) if isinstance(shape, int) else shape))
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype,
                         batch_input_shape=tuple(batch_shape), **kwargs)
        with _graph().as_default():
            symbolic = placeholder(np.dtype(self.dtype),
                                   shape=(None, *self._batch_input_shape[1:]), name=self.name)
        node = Node(self, None, [])
        self.output = KerasTensor(symbolic, node, name=self.name)
        node.outputs = [self.output]
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
          **kwargs) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch size): the start of a functional
    model. ``keras.Input((784,))`` is a KerasTensor of shape ``(None, 784)``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output


def has_keras_tensor(args, kwargs) -> bool:
    _, leaves = _flatten((list(args), kwargs), [])
    return any(isinstance(leaf, KerasTensor) for leaf in leaves)


def call_layer(layer: Layer, args, kwargs):
    """``layer(*args, **kwargs)`` on symbolic tensors: build it, run its call in graph mode
    for the output shapes, and record the call."""
    structure, leaves = _flatten((list(args), kwargs), [])
    first = args[0] if args else None
    layer.ensure_built(_symbolic_shape(first))
    if isinstance(first, KerasTensor):
        layer._check_input(first._symbolic)
    symbolic = [leaf._symbolic if isinstance(leaf, KerasTensor) else leaf for leaf in leaves]
    call_args, call_kwargs = _unflatten(structure, iter(symbolic))
    if "training" in call_kwargs and isinstance(call_kwargs["training"], KerasTensor):
        raise TypeError(f"{layer.name}: training must be a Python bool")
    with _graph().as_default():
        result = Module.__call__(layer, *call_args, **call_kwargs)
    node = Node(layer, structure, leaves)
    out_structure, out_leaves = _flatten(result, [])
    outputs = []
    for index, leaf in enumerate(out_leaves):
        if not isinstance(leaf, Tensor):
            raise TypeError(f"{layer.name}: a layer called on symbolic inputs must return "
                            f"tensors, got {type(leaf).__name__}")
        outputs.append(KerasTensor(leaf, node, index))
    node.outputs = outputs
    layer.output_shape = (outputs[0].shape if len(outputs) == 1
                          else [o.shape for o in outputs])
    return _unflatten(out_structure, iter(outputs))


def _symbolic_shape(value):
    if isinstance(value, KerasTensor):
        return value.shape
    if isinstance(value, list | tuple):
        return [_symbolic_shape(v) for v in value]
    return None


def nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The layer calls that lead from ``inputs`` to ``outputs``, in an order that runs (each
    after the calls making its inputs); an output that does not depend on the inputs is an
    error naming the missing input."""
    ordered: list[Node] = []
    state: dict[int, str] = {}
    sources = {id(t) for t in inputs}

    def visit(tensor: KerasTensor) -> None:
        node = tensor.node
        if id(tensor) in sources:
            return
        if node is None or isinstance(node.layer, InputLayer):
            raise ValueError(f"Model: output depends on {tensor.name!r}, which is not among "
                             f"the model's inputs {[t.name for t in inputs]}")
        if state.get(id(node)) == "done":
            return
        if state.get(id(node)) == "visiting":
            raise ValueError(f"Model: the layer graph has a cycle at {node.layer.name!r}")
        state[id(node)] = "visiting"
        for source in node.inputs:
            visit(source)
        state[id(node)] = "done"
        ordered.append(node)

    for output in outputs:
        visit(output)
    return ordered


def run_nodes(nodes: list[Node], inputs: list[KerasTensor], values: list, training=None):
    """Replay ``nodes`` with ``values`` for ``inputs``: the values of every node's outputs."""
    known: dict[int, object] = {id(t): v for t, v in zip(inputs, values, strict=True)}
    for node in nodes:
        leaves = [known[id(leaf)] if isinstance(leaf, KerasTensor) else leaf
                  for leaf in node.leaves]
        args, kwargs = _unflatten(node.structure, iter(leaves))
        if training is not None:  # a layer whose call takes none drops it (Layer.__call__)
            kwargs.setdefault("training", training)
        result = node.layer(*args, **kwargs)
        _, out_leaves = _flatten(result, [])
        for tensor, value in zip(node.outputs, out_leaves, strict=True):
            known[id(tensor)] = value
    return known
