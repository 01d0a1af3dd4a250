"""Graph drawing: the DOT text has the nodes, labels and edges of the graph; ``draw`` writes
the file (only where Graphviz's ``dot`` is installed)."""

import re
import shutil

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.graph import draw as draw_module

NODE = re.compile(r'^  "((?:[^"\\]|\\.)*)" \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"( \[style=dashed\])?;$')


def parse(dot: str) -> tuple[dict, dict, list]:
    """The node labels, node styles and edges of DOT text written by to_dot."""
    lines = dot.splitlines()
    assert lines[0] == "digraph flowgrad {" and lines[-1] == "}"
    labels, styles, edges = {}, {}, []
    for line in lines[3:-1]:
        if node := NODE.match(line):
            labels[node[1]] = node[2].split("\\n")
            styles[node[1]] = node[3]
        else:
            edge = EDGE.match(line)
            assert edge, f"not a node or an edge: {line!r}"
            edges.append((edge[1], edge[2], bool(edge[3])))
    return labels, styles, edges


@pytest.fixture
def train_graph():
    g = fg.Graph()
    with g.as_default():
        with fg.name_scope("model"):
            x = fg.placeholder(fg.float32, shape=(None,), name="x")
            w = fg.Variable(0.5, name="w")
            y = w * x
        step = w.assign(w - 0.1 * y.sum())
        fg.group(step, name="train")
    return g


def test_dot_has_a_box_per_node_and_an_edge_per_input(train_graph):
    labels, _, edges = parse(train_graph.to_dot())
    assert list(labels) == [node.name for node in train_graph.nodes]
    assert labels["model/x"] == ["placeholder", "model/x", "(?,) float32"]
    assert labels["model/w/initial"] == ["constant", "model/w/initial", "() float32", "0.5"]
    assert labels["model/mul"] == ["mul", "model/mul", "(?,) float32"]
    assert labels["train"] == ["group", "train"]  # no value: no shape or dtype
    expected = {(source.name, node.name, node.op == "group")
                for node in train_graph.nodes for source in node.inputs}
    assert set(edges) == expected
    assert ("model/w", "model/mul", False) in edges and ("model/x", "model/mul", False) in edges
    assert ("Assign", "train", True) in edges


def test_side_effects_and_inputs_are_styled_apart(train_graph):
    _, styles, _ = parse(train_graph.to_dot())
    side_effect = ', style="filled,bold", fillcolor="#fbe5d6", penwidth=2'
    (initializer,) = [styles[node.name] for node in train_graph.nodes
                      if node.op == "assign" and node.inputs[0].op == "constant"]
    assert styles["Assign"] == styles["train"] == initializer == side_effect
    assert styles["model/x"] == ', style=filled, fillcolor="#dbe9f6"'
    assert styles["model/mul"] == ""


def test_an_input_used_twice_gives_two_edges():
    g = fg.Graph()
    with g.as_default():
        x = fg.placeholder(fg.float32, shape=(2,), name="x")
        _ = x * x
    assert parse(g.to_dot())[2] == [("x", "mul", False), ("x", "mul", False)]


def test_quotes_and_backslashes_are_escaped():
    assert draw_module.quote('a/b"c\\d') == '"a/b\\"c\\\\d"'


def test_dot_of_a_plans_program():
    g = fg.Graph()
    with g.as_default():
        x = fg.placeholder(fg.float32, shape=(2,), name="x")
        total = (x * 2.0).sum()
        with fg.Session() as sess:
            plan = sess.plan(total, {x: np.ones(2)})
    labels, _, edges = parse(draw_module.to_dot(plan.program.nodes))
    assert set(labels) == {node.name for node in plan.program.nodes}
    assert {(a, b) for a, b, _ in edges} == {
        (source.name, node.name) for node in plan.program.nodes for source in node.inputs}


def test_draw_without_graphviz_says_how_to_install_it(train_graph, tmp_path, monkeypatch):
    monkeypatch.setattr(draw_module.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"Graphviz's `dot` program is not on PATH; "
                                           r"install Graphviz \(apt install graphviz"):
        train_graph.draw(str(tmp_path / "graph.svg"))


def test_draw_needs_a_known_suffix(train_graph, tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the format of .*graph\.gif'; use a "
                                         r"path ending in \.svg, \.png, \.pdf"):
        train_graph.draw(str(tmp_path / "graph.gif"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_writes_svg_and_png(train_graph, tmp_path):
    svg = train_graph.draw(str(tmp_path / "graph.svg"))
    text = (tmp_path / "graph.svg").read_text(encoding="utf-8")
    assert svg == str(tmp_path / "graph.svg")
    assert "<svg" in text and "model/mul" in text and "placeholder" in text
    png = train_graph.draw(tmp_path / "graph.png")
    assert png == str(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
