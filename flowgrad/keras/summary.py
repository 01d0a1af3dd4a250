"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable


def summary(model, line_length: int | None = None, positions=None,
            print_fn: Callable[[str], object] | None = None) -> str:
    """Print (with ``print_fn``, default ``print``) and return the table."""
    functional = bool(getattr(model, "_functional", False)) and type(model).__name__ != \
        "Sequential"
    headers = ["Layer (type)", "Output Shape", "Param #"]
    rows = []
    sources = _sources(model) if functional else {}
    for layer in model.layers:
        shape = layer.output_shape
        params = layer.count_params() if layer.built else 0
        row = [f"{layer.name} ({type(layer).__name__})",
               _shape_text(shape) if shape is not None else "?", f"{params:,}"]
        if functional:
            row.append(", ".join(sources.get(layer.name, [])) or "-")
        rows.append(row)
    if functional:
        headers.append("Connected to")
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 if rows else len(h) + 2
              for i, h in enumerate(headers)]
    if line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]))
    total = sum(widths) + 1
    lines = [f'Model: "{model.name}"', "_" * total,
             " " + "".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "=" * total]
    for index, row in enumerate(rows):
        lines.append(" " + "".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        lines.append("_" * total if index < len(rows) - 1 else "=" * total)
    if not rows:
        lines.append("=" * total)
    weights = {id(w): w for layer in model.layers for w in layer._all_weights()}.values()
    trainable = sum(w.numel() for w in weights if w.requires_grad)
    frozen = sum(w.numel() for w in weights if not w.requires_grad)
    size = sum(w._data.nbytes for w in weights)
    trainable_size = sum(w._data.nbytes for w in weights if w.requires_grad)
    lines += [f"Total params: {trainable + frozen:,} ({_bytes(size)})",
              f"Trainable params: {trainable:,} ({_bytes(trainable_size)})",
              f"Non-trainable params: {frozen:,} ({_bytes(size - trainable_size)})",
              "_" * total]
    text = "\n".join(lines)
    (print_fn or print)(text)
    return text


def _sources(model) -> dict[str, list[str]]:
    sources: dict[str, list[str]] = {}
    for source, target in model._layer_edges():
        sources.setdefault(target, []).append(source)
    return sources


def _shape_text(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _bytes(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count:.2f} B"
