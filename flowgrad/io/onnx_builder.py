"""What the ONNX translations of flowgrad's primitives write into: a :class:`Builder` that
makes ONNX nodes and initializers with unique names, and :class:`Unsupported`, which a
translation raises for a node ONNX cannot express (the exporter collects these and reports
them all at once, before anything is written).

The ``onnx`` package is handed in by the exporter (it is an optional dependency, imported
only when an export runs), so this module imports nothing from it.
"""

from __future__ import annotations

import re

import numpy as np

from flowgrad.graph.ir import Node

#: The largest integer ONNX Slice takes as "to the end" (and its negative, "before 0").
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class Unsupported(Exception):
    """A node that has no ONNX translation; the message says why, and what to do."""


class Builder:
    """The ONNX graph under construction: nodes in order, initializers, and the ONNX value
    name of each flowgrad node translated so far (``values``)."""

    def __init__(self, onnx, opset: int) -> None:
        self.onnx = onnx
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.values: dict[Node, str] = {}
        self.extra: dict[Node, str] = {}  # a second output a translation keeps (MaxPool's Y)
        self._taken: set[str] = set()
        self._scope = "graph"
        self._site: str | None = None

    # -- names ------------------------------------------------------------------------------

    def reserve(self, name: str) -> str:
        """Claim ``name`` exactly (a graph input or output the user named)."""
        self._taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """A name not used yet: ``base``, else ``base_1``, ``base_2`` ..."""
        base = re.sub(r"[^A-Za-z0-9_.\-/:]", "_", base) or "value"
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def begin(self, node: Node) -> None:
        """Name what follows after ``node`` and record the user's line it came from."""
        self._scope = node.name
        self._site = node.site

    # -- nodes and constants ----------------------------------------------------------------

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs):
        """Append an ONNX node; its output name (or names, for ``outputs > 1``)."""
        names = [self.fresh(f"{self._scope}/{op_type}" + (f":{i}" if i else ""))
                 for i in range(outputs)]
        attrs = {key: _plain(value) for key, value in attrs.items() if value is not None}
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), names, name=names[0],
            doc_string=f"flowgrad {self._scope} at {self._site}" if self._site else None,
            **attrs))
        return names[0] if outputs == 1 else names

    def const(self, value, dtype=None, name: str | None = None) -> str:
        """An initializer holding ``value`` (in ``dtype`` when given)."""
        array = np.asarray(value, dtype=dtype)
        if not array.flags.c_contiguous:
            array = array.copy()  # (np.ascontiguousarray would make a 0-D array 1-D)
        tensor = self.onnx.numpy_helper.from_array(
            array, self.fresh(name or f"{self._scope}/const"))
        self.initializers.append(tensor)
        return tensor.name

    def ints(self, values) -> str:
        """A 1-D int64 initializer: shapes, axes, pads and starts take these."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype=dtype))

    def tensor_attr(self, value, dtype):
        """A one-element tensor for an attribute (ConstantOfShape's ``value``)."""
        array = np.asarray([value], dtype=dtype)
        return self.onnx.numpy_helper.from_array(array, "value")

    def elem_type(self, dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    # -- pieces many translations share ---------------------------------------------------

    def cast(self, x: str, dtype) -> str:
        return self.op("Cast", x, to=self.elem_type(dtype))

    def shape(self, x: str) -> str:
        return self.op("Shape", x)

    def full(self, shape: str, value, dtype) -> str:
        """A tensor of run-time ``shape`` (a 1-D int64 value) filled with ``value``."""
        return self.op("ConstantOfShape", shape, value=self.tensor_attr(value, dtype))

    def reduce(self, op_type: str, x: str, axes, keepdim: bool) -> str:
        """``op_type`` over ``axes`` (None: all); opset 18 moved the axes of every reduction
        but ReduceSum (moved at 13) from an attribute to an input."""
        keepdims = int(bool(keepdim))
        if axes is None:
            return self.op(op_type, x, keepdims=keepdims)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes), keepdims=keepdims)
        return self.op(op_type, x, axes=list(axes), keepdims=keepdims)

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", x, self.ints(axes))

    def squeeze(self, x: str, axes) -> str:
        return self.op("Squeeze", x, self.ints(axes))

    def dim(self, x: str, axis: int) -> str:
        """The run-time size of ``x`` along ``axis``, as a 0-D int64 value."""
        return self.op("Gather", self.shape(x), self.scalar(axis, np.int64), axis=0)


def _plain(value):
    """Attribute values as the ONNX helper takes them (Python ints, not NumPy's)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
