"""``fg.nn.summary(model, input_shape)``: the table Keras prints for ``model.summary()``, which
PyTorch users install torchinfo for -- each layer in call order, its output shape and its
parameters, then the totals.

It runs one forward pass on zeros (in eval mode, without recording gradients, the modules'
training flags put back afterwards), watching every module with hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from flowgrad import dtypes as fg_dtypes
from flowgrad.autograd import no_grad
from flowgrad.functions import zeros
from flowgrad.nn.module import Module
from flowgrad.tensor import Tensor


@dataclass
class LayerRow:
    """One call of one module during the forward pass."""

    name: str  # its dotted path in the model ("features.0"), "" for the model itself
    kind: str  # its class name
    depth: int
    output_shape: object  # a shape tuple, a list of them, or a type name
    params: int  # the parameters it holds itself (not its children's); 0 for a repeat call
    repeated: bool = False  # a module called again (a shared layer): its params counted once


@dataclass
class ModelSummary:
    """The result of :func:`summary`: its rows and totals; ``str()`` gives the table."""

    model_name: str
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    input_bytes: int = 0
    output_bytes: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        headers = ("Layer (type)", "Output Shape", "Param #")
        cells = [(("  " * row.depth) + (f"{row.name} ({row.kind})" if row.name else row.kind),
                  _shape_text(row.output_shape),
                  "(recursive)" if row.repeated else (f"{row.params:,}" if row.params else "--"))
                 for row in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
                  for i, h in enumerate(headers)]
        rule = "=" * (sum(widths) + 4)
        lines = [f'Model: "{self.model_name}"', rule,
                 f"{headers[0]:<{widths[0]}}  {headers[1]:<{widths[1]}}  {headers[2]:>{widths[2]}}",
                 rule]
        lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in cells]
        lines += [rule,
                  f"Total params: {self.total_params:,} ({_bytes(self.param_bytes)})",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}",
                  f"Buffers (running statistics, ...): {_bytes(self.buffer_bytes)}",
                  f"Input size: {_bytes(self.input_bytes)}; forward outputs: "
                  f"{_bytes(self.output_bytes)}",
                  rule]
        return "\n".join(lines)

    __repr__ = __str__


def summary(model: Module, input_shape: Sequence | None = None, *, input_data=None,
            batch_size: int = 1, dtypes=None,
            print_fn: Callable[[str], object] | None = print) -> ModelSummary:
    """Describe ``model`` as it runs on an input of ``input_shape`` (without the batch size,
    as Keras and torchsummary take it; a list of shapes for several inputs) or on
    ``input_data`` (tensors). ``dtypes``: the inputs' dtypes (float32 by default; integer
    indices for an ``Embedding``). The table is printed with ``print_fn`` (None: silent) and
    returned as a :class:`ModelSummary`.

    >>> import flowgrad as fg
    >>> model = fg.nn.Sequential(fg.nn.Linear(4, 8), fg.nn.ReLU(), fg.nn.Linear(8, 2))
    >>> result = fg.nn.summary(model, (4,), print_fn=None)
    >>> [(row.name, row.output_shape, row.params) for row in result.rows[1:]]
    [('0', (1, 8), 40), ('1', (1, 8), 0), ('2', (1, 2), 18)]
    >>> result.total_params
    58
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    inputs = _inputs(input_shape, input_data, batch_size, dtypes)
    result = ModelSummary(type(model).__name__)
    names = {id(m): name for name, m in model.named_modules()}
    depth_of = {id(m): (name.count(".") + 1 if name else 0) for name, m in model.named_modules()}
    seen: set[int] = set()
    pending: list[LayerRow] = []
    handles = []

    def before(module, args):
        repeated = id(module) in seen
        seen.add(id(module))
        own = sum(p.numel() for p in module._parameters.values() if p is not None)
        row = LayerRow(names.get(id(module), "?"), type(module).__name__,
                       depth_of.get(id(module), 0), None, 0 if repeated else own, repeated)
        result.rows.append(row)
        pending.append(row)

    def after(module, args, output):
        row = pending.pop()
        row.output_shape = _shape_of(output)
        if not module._modules:  # count each value once: the leaves' outputs
            result.output_bytes += _nbytes(output)

    training = {id(m): m.training for m in model.modules()}
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            module.training = training[id(module)]
    unique = {id(p): p for p in model.parameters()}.values()
    result.total_params = sum(p.numel() for p in unique)
    result.trainable_params = sum(p.numel() for p in unique if p.requires_grad)
    result.param_bytes = sum(p._data.nbytes for p in unique)
    result.buffer_bytes = sum(b._data.nbytes for b in model.buffers())
    result.input_bytes = sum(t._data.nbytes for t in inputs)
    if print_fn is not None:
        print_fn(str(result))
    return result


def _inputs(input_shape, input_data, batch_size: int, dtypes) -> list[Tensor]:
    if input_data is not None:
        data = input_data if isinstance(input_data, list | tuple) else [input_data]
        return [d if isinstance(d, Tensor) else Tensor._wrap(np.asarray(d)) for d in data]
    if input_shape is None:
        raise TypeError("summary: give input_shape (without the batch size) or input_data")
    shapes = list(input_shape) if _is_shape_list(input_shape) else [input_shape]
    for shape in shapes:
        if not isinstance(shape, list | tuple) or not all(
                isinstance(d, int) and d >= 0 for d in shape):
            raise TypeError(f"summary: input_shape must be a tuple of sizes (without the "
                            f"batch size), or a list of them; got {input_shape!r}")
    kinds = list(dtypes) if isinstance(dtypes, list | tuple) else [dtypes] * len(shapes)
    if len(kinds) != len(shapes):
        raise ValueError(f"summary: {len(shapes)} input shapes but {len(kinds)} dtypes")
    return [zeros(batch_size, *shape, dtype=kind or fg_dtypes.float32)
            for shape, kind in zip(shapes, kinds, strict=True)]


def _is_shape_list(value) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(item, list | tuple) for item in value)


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, list | tuple):
        return [_shape_of(item) for item in output]
    return type(output).__name__


def _nbytes(output) -> int:
    if isinstance(output, Tensor) and type(output._data) is np.ndarray:
        return output._data.nbytes
    if isinstance(output, list | tuple):
        return sum(_nbytes(item) for item in output)
    return 0


def _shape_text(shape) -> str:
    if isinstance(shape, tuple):
        return str(shape) if len(shape) != 1 else f"({shape[0]},)"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(shape)


def _bytes(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count} B"
