"""Pictures of graphs: Graphviz DOT text, and SVG/PNG/PDF files drawn by Graphviz's ``dot``.

One box per node, labelled with its op, its name, and its shape and dtype (a constant also
shows its value); an edge from each input to its user. Fed placeholders, variables and
constants are shaded; side effects (``assign``, ``group``) have a bold outline and a colour of
their own, so what a run changes stands out.

>>> import flowgrad as fg
>>> g = fg.Graph()
>>> with g.as_default():
...     x = fg.placeholder(fg.float32, shape=(None, 2), name="layer/x")
...     y = x.sum()
>>> print(g.to_dot())  # doctest: +NORMALIZE_WHITESPACE
digraph flowgrad {
  rankdir=TB;
  node [shape=box, fontname="Helvetica", fontsize=10];
  "layer/x" [label="placeholder\\nlayer/x\\n(?, 2) float32", style=filled, fillcolor="#dbe9f6"];
  "sum" [label="sum\\nsum\\n() float32"];
  "layer/x" -> "sum";
}
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable

from flowgrad.graph.ir import Node, format_shape, summarise

# The look of the node kinds: inputs of a run shaded, side effects outlined in bold.
_STYLES = {
    "placeholder": 'style=filled, fillcolor="#dbe9f6"',
    "variable": 'style=filled, fillcolor="#e2f0d9"',
    "constant": 'style=filled, fillcolor="#eeeeee"',
    "assign": 'style="filled,bold", fillcolor="#fbe5d6", penwidth=2',
    "group": 'style="filled,bold", fillcolor="#fbe5d6", penwidth=2',
}
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_INSTALL = ("install Graphviz (apt install graphviz, brew install graphviz, conda install "
            "graphviz, or https://graphviz.org/download/), or save Graph.to_dot() to a .dot "
            "file and render it elsewhere")


def quote(text: str) -> str:
    """``text`` as a DOT quoted string (node names hold ``/`` and ``.``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def label(node: Node) -> str:
    """The lines of a node's box: op, name, then shape and dtype (and a constant's value)."""
    lines = [node.op, node.name]
    if node.has_value:
        lines.append(f"{format_shape(node.shape)} {node.dtype}")
    if node.op == "constant":
        lines.append(summarise(node.attrs["value"]))
    return "\n".join(lines)


def to_dot(nodes: Iterable[Node]) -> str:
    """Graphviz DOT text for ``nodes`` (a graph's, or a plan's program): a box per node, an
    edge per input (an input used twice gives two edges; a ``group``'s inputs, which it only
    runs, dashed)."""
    nodes = list(nodes)
    lines = ["digraph flowgrad {", "  rankdir=TB;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];']
    for node in nodes:
        style = _STYLES.get(node.op)
        attrs = f"label={quote(label(node))}" + (f", {style}" if style else "")
        lines.append(f"  {quote(node.name)} [{attrs}];")
    for node in nodes:
        edge_style = " [style=dashed]" if node.op == "group" else ""
        lines.extend(f"  {quote(source.name)} -> {quote(node.name)}{edge_style};"
                     for source in node.inputs)
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(nodes: Iterable[Node], path: str | os.PathLike) -> str:
    """Draw ``nodes`` into ``path`` with Graphviz's ``dot`` program; the format follows the
    suffix (``.svg``, ``.png``, ``.pdf``). Returns the path written."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    fmt = _FORMATS.get(suffix)
    if fmt is None:
        raise ValueError(f"draw: cannot tell the format of {path!r}; use a path ending in "
                         f"{', '.join(_FORMATS)}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(f"draw: Graphviz's `dot` program is not on PATH; {_INSTALL}")
    result = subprocess.run([dot, f"-T{fmt}", "-o", path], input=to_dot(nodes).encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"draw: `dot -T{fmt}` failed writing {path!r}: "
                           f"{result.stderr.decode(errors='replace').strip()}")
    return path
