"""Keras's helpers: plot the training curves (``plot_history``), draw the model's layers
(``plot_model``, with Graphviz), one-hot labels (``to_categorical``), seed everything
(``set_random_seed``)."""

from __future__ import annotations

import itertools
import numbers
import os
import random
import shutil
import subprocess

import numpy as np

from flowgrad.errors import at_user_site
from flowgrad.io import require
from flowgrad.random import manual_seed

__all__ = ["model_to_dot", "plot_history", "plot_model", "set_random_seed", "to_categorical"]

#: What ``plot_model`` writes for each file suffix (Graphviz's ``-T`` format; "dot": the text).
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg",
            ".gif": "gif", ".dot": "dot", "": "png"}
_RANKDIRS = ("TB", "LR", "BT", "RL")


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows of the integer class labels ``y`` (any shape; a trailing axis of 1 is
    dropped): shape ``y.shape + (num_classes,)``. ``num_classes`` defaults to the largest
    label plus one.

    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.array_equal(labels, np.round(labels)):
        raise ValueError(at_user_site(
            "to_categorical: y holds class labels, whole numbers; got fractions "
            f"(e.g. {labels[labels != np.round(labels)].flat[0]})"))
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(at_user_site(
            f"to_categorical: labels are >= 0; got {labels.min()}"))
    largest = int(labels.max()) if labels.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(at_user_site(
            f"to_categorical(num_classes={num_classes!r}): num_classes is an int >= 1"))
    elif largest >= num_classes:
        raise ValueError(at_user_site(
            f"to_categorical(num_classes={num_classes}): y has the label {largest}; labels "
            f"run from 0 to num_classes - 1"))
    one_hot = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(one_hot, labels[..., None], 1, axis=-1)
    return one_hot


def set_random_seed(seed: int) -> None:
    """Seed flowgrad's generator (``fg.manual_seed``), NumPy's global one and Python's
    ``random``, so that a run repeats exactly.

    >>> set_random_seed(0)
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not \
            0 <= seed < 2**32:
        raise ValueError(at_user_site(
            f"set_random_seed(seed={seed!r}): seed is an int from 0 to 2**32 - 1"))
    manual_seed(int(seed))
    np.random.seed(int(seed))
    random.seed(int(seed))


def _history_dict(history) -> dict[str, list[float]]:
    """The dict of lists inside a History callback, a model's ``history`` or a dict."""
    inner = getattr(history, "history", history)
    inner = getattr(inner, "history", inner)  # a model whose history is a History
    if not isinstance(inner, dict):
        raise TypeError(at_user_site(
            f"plot_history: history is {type(history).__name__}; expected the History that "
            f"fit returns, or a dict of name -> values per epoch"))
    return inner


def plot_history(history, path: str | os.PathLike, metrics: list[str] | None = None) -> None:
    """Save a picture (PNG, or what the suffix of ``path`` names) of the training curves: one
    chart per quantity in ``metrics`` (default: every logged name without ``val_``) with its
    ``val_`` counterpart, against the epoch (from 1). Needs ``pip install 'flowgrad[plot]'``.
    """
    values = _history_dict(history)
    if metrics is None:
        metrics = [name for name in values if not name.startswith("val_")]
        metrics += [name[4:] for name in values
                    if name.startswith("val_") and name[4:] not in values]
    missing = [name for name in metrics if name not in values and f"val_{name}" not in values]
    if missing or not metrics:
        raise KeyError(at_user_site(
            f"plot_history: {missing[0] if missing else 'nothing'} to plot; the history has "
            f"{', '.join(values) or 'no values'}"))
    figure_module = require("matplotlib.figure", "plot", "plot_history")
    ticker = require("matplotlib.ticker", "plot", "plot_history")
    figure = figure_module.Figure(figsize=(5 * len(metrics), 3.6), layout="constrained")
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for ax, name in zip(axes, metrics, strict=True):
        for label in (name, f"val_{name}"):
            if label in values:
                series = values[label]
                epochs = range(1, len(series) + 1)
                ax.plot(epochs, series, marker="o" if len(series) < 30 else None,
                        label="validation" if label.startswith("val_") else "training")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # whole epochs
        ax.grid(alpha=0.3)
        ax.legend()
    figure.savefig(os.fspath(path), dpi=100)


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB", dpi: int = 96) -> str:
    """The model's layer graph as Graphviz DOT text: a box per layer of ``model.layers``
    (its name and class; its output shape and dtype when asked), an arrow per edge of
    ``model._layer_edges()`` (a functional model) or between consecutive layers."""
    if rankdir not in _RANKDIRS:
        raise ValueError(at_user_site(
            f"plot_model(rankdir={rankdir!r}): rankdir is one of {', '.join(_RANKDIRS)}"))
    layers = list(getattr(model, "layers", None) or ())
    if not layers:
        raise ValueError(at_user_site(
            f"plot_model: {type(model).__name__} has no layers yet; build the model (call "
            f"it on data, or give Input shapes) before drawing it"))
    names = [layer.name for layer in layers]
    if hasattr(model, "_layer_edges"):
        edges = list(model._layer_edges())
    else:
        edges = list(itertools.pairwise(names))
    unknown = [name for edge in edges for name in edge if name not in names]
    if unknown:
        raise ValueError(f"plot_model: the edge names layer {unknown[0]!r}, which is not in "
                         f"model.layers ({', '.join(names)})")
    lines = ["digraph model {", f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica"];']
    for layer in layers:
        kind = type(layer).__name__
        label = [f"{layer.name} ({kind})" if show_layer_names else kind]
        if show_shapes:
            label.append(f"Output shape: {_shape_text(getattr(layer, 'output_shape', None))}")
        if show_dtype:
            dtype = getattr(layer, "dtype", None)
            label.append(f"dtype: {'?' if dtype is None else dtype}")
        lines.append(f"  {_quoted(layer.name)} [label={_quoted(chr(10).join(label))}];")
    lines += [f"  {_quoted(source)} -> {_quoted(target)};" for source, target in edges]
    return "\n".join(lines + ["}"]) + "\n"


def plot_model(model, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               dpi: int = 96) -> None:
    """Draw the model's layers and how they connect into ``to_file`` with Graphviz's ``dot``
    (its suffix picks the format: .png, .svg, .pdf, .jpg, .gif; .dot writes the DOT text
    alone and needs no Graphviz). ``rankdir``: "TB" top to bottom, "LR" left to right."""
    path = os.fspath(to_file)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _FORMATS:
        raise ValueError(at_user_site(
            f"plot_model(to_file={path!r}): the suffix picks the format, one of "
            f"{', '.join(s for s in _FORMATS if s)}"))
    text = model_to_dot(model, show_shapes, show_dtype, show_layer_names, rankdir, dpi)
    if _FORMATS[suffix] == "dot":
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise ImportError(
            "plot_model needs Graphviz's `dot` program on the PATH: install Graphviz "
            "(https://graphviz.org/download/, e.g. `apt install graphviz` or `brew install "
            "graphviz`), or write the DOT text with to_file='model.dot'")
    result = subprocess.run([dot, f"-T{_FORMATS[suffix]}", "-o", path], input=text.encode(),
                            capture_output=True, check=False)
    if result.returncode:
        raise RuntimeError(f"plot_model: dot failed: {result.stderr.decode().strip()}")


def _shape_text(shape) -> str:
    """``(None, 10)``; a list of shapes for several outputs; ``?`` when unknown."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _quoted(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, new lines as DOT's centred breaks."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
