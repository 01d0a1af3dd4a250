"""Keras's helpers: the training-curve PNG, the model drawing (DOT text always; a picture
where Graphviz is installed), one-hot labels and seeding."""

import pathlib
import random
import shutil
import struct
import sys

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.keras import utils
from flowgrad.keras.callbacks import History
from flowgrad.keras.utils import (
    model_to_dot,
    plot_history,
    plot_model,
    set_random_seed,
    to_categorical,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """The width and height of a PNG file, after checking its signature and header chunk."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# -- plot_history --------------------------------------------------------------------------

def test_plot_history_writes_a_png_with_a_chart_per_metric(tmp_path):
    pytest.importorskip("matplotlib")
    history = History()
    history.history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
                       "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.4, 0.6, 0.65]}
    plot_history(history, tmp_path / "all.png")
    plot_history(history.history, tmp_path / "loss.png", metrics=["loss"])
    wide, narrow = png_size(tmp_path / "all.png"), png_size(tmp_path / "loss.png")
    assert wide[0] > 1.5 * narrow[0] and wide[1] == narrow[1] > 100  # two charts, then one


def test_plot_history_takes_a_model_and_only_validation_values(tmp_path):
    pytest.importorskip("matplotlib")
    history = History()
    history.history = {"val_loss": [1.0, 0.5]}

    class Trained:
        pass

    model = Trained()
    model.history = history
    plot_history(model, tmp_path / "val.png")
    assert png_size(tmp_path / "val.png")[0] > 100


def test_plot_history_names_what_is_missing(tmp_path):
    with pytest.raises(KeyError, match=r"plot_history: auc to plot; the history has loss"):
        plot_history({"loss": [1.0]}, tmp_path / "x.png", metrics=["auc"])
    with pytest.raises(TypeError, match="expected the History that fit returns"):
        plot_history([1.0, 0.5], tmp_path / "x.png")


def test_plot_history_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'flowgrad\[plot\]'"):
        plot_history({"loss": [1.0]}, tmp_path / "x.png")


# -- plot_model ----------------------------------------------------------------------------

class Layer:
    def __init__(self, name, output_shape=None, dtype=None):
        self.name, self.output_shape, self.dtype = name, output_shape, dtype


class Dense(Layer):
    pass


class InputLayer(Layer):
    pass


class Concatenate(Layer):
    pass


class SequentialStandIn:
    def __init__(self):
        self.layers = [Dense("hidden", (None, 16), "float32"), Dense("out", (None, 1), "float32")]


class FunctionalStandIn:
    """Two inputs, a shared branch merged: edges are not consecutive layers."""

    def __init__(self):
        self.layers = [InputLayer("image", (None, 8)), InputLayer("meta", (None, 3)),
                       Dense("encode", (None, 4)), Concatenate("merge", [(None, 7)]),
                       Dense("head", (None, 1), "float32")]

    def _layer_edges(self):
        return [("image", "encode"), ("encode", "merge"), ("meta", "merge"), ("merge", "head")]


def test_dot_text_of_a_sequential_model_has_every_layer_and_consecutive_edges():
    text = model_to_dot(SequentialStandIn(), show_shapes=True, show_dtype=True)
    assert text.startswith("digraph model {") and text.rstrip().endswith("}")
    assert '"hidden" [label="hidden (Dense)\\nOutput shape: (None, 16)\\ndtype: float32"];' in text
    assert '"out" [label="out (Dense)\\nOutput shape: (None, 1)\\ndtype: float32"];' in text
    assert '"hidden" -> "out";' in text and text.count("->") == 1
    assert "rankdir=TB" in text and "dpi=96" in text


def test_dot_text_of_a_functional_model_follows_its_edges():
    text = model_to_dot(FunctionalStandIn(), show_layer_names=False, rankdir="LR")
    for source, target in FunctionalStandIn()._layer_edges():
        assert f'"{source}" -> "{target}";' in text
    assert text.count("->") == 4 and "rankdir=LR" in text
    assert '"merge" [label="Concatenate"];' in text and "Output shape" not in text
    shapes = model_to_dot(FunctionalStandIn(), show_shapes=True, show_dtype=True)
    assert "Output shape: [(None, 7)]" in shapes and "dtype: ?" in shapes


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_model_draws_png_and_svg(tmp_path):
    plot_model(FunctionalStandIn(), tmp_path / "model.png", show_shapes=True)
    width, height = png_size(tmp_path / "model.png")
    assert width > 50 and height > 100
    plot_model(SequentialStandIn(), tmp_path / "model.svg")
    svg = (tmp_path / "model.svg").read_text()
    assert "<svg" in svg and "hidden (Dense)" in svg


def test_plot_model_without_graphviz_says_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(utils.shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match="install Graphviz"):
        plot_model(SequentialStandIn(), tmp_path / "model.png")
    plot_model(SequentialStandIn(), tmp_path / "model.dot")  # DOT text needs no Graphviz
    assert (tmp_path / "model.dot").read_text() == model_to_dot(SequentialStandIn())


def test_plot_model_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"rankdir='UP'.*TB, LR, BT, RL"):
        plot_model(SequentialStandIn(), tmp_path / "m.png", rankdir="UP")
    with pytest.raises(ValueError, match=r"to_file=.*the suffix picks the format"):
        plot_model(SequentialStandIn(), tmp_path / "m.bmp")

    class Unbuilt:
        layers = ()

    with pytest.raises(ValueError, match="Unbuilt has no layers yet"):
        model_to_dot(Unbuilt())
    broken = FunctionalStandIn()
    broken._layer_edges = lambda: [("image", "decoder")]
    with pytest.raises(ValueError, match=r"'decoder', which is not in model\.layers"):
        model_to_dot(broken)


# -- to_categorical and set_random_seed ----------------------------------------------------

def test_to_categorical():
    assert np.array_equal(to_categorical([1, 0, 2]), np.eye(3, dtype=np.float32)[[1, 0, 2]])
    column = to_categorical(np.array([[1], [3]]), num_classes=5, dtype="int32")
    assert column.dtype == np.int32 and column.shape == (2, 5)
    assert column.tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
    grid = to_categorical(fg.tensor([[0, 1], [1, 1]]))
    assert grid.shape == (2, 2, 2) and grid[1, 0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(("labels", "kwargs", "pattern"), [
    ([0, -1], {}, "labels are >= 0; got -1"),
    ([0, 3], {"num_classes": 3}, "y has the label 3"),
    ([0.5, 1], {}, "whole numbers"),
    ([0, 1], {"num_classes": 0}, "num_classes is an int >= 1"),
])
def test_to_categorical_refuses_bad_labels(labels, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        to_categorical(labels, **kwargs)


def test_set_random_seed_repeats_every_generator():
    def draw():
        return fg.randn(3).numpy().tolist(), np.random.rand(2).tolist(), random.random()

    set_random_seed(7)
    first = draw()
    set_random_seed(7)
    assert draw() == first
    set_random_seed(8)
    assert draw() != first
    with pytest.raises(ValueError, match=r"set_random_seed\(seed='7'\)"):
        set_random_seed("7")
    with pytest.raises(ValueError, match="from 0 to 2\\*\\*32 - 1"):
        set_random_seed(-1)
