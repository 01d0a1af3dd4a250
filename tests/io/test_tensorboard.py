"""TensorBoard summaries: what SummaryWriter writes is read back with TensorBoard's own event
reader (scalars, runs, histograms, images, text, graphs); bad values are refused, with the
method and the tag named, before anything is written."""

import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.errors import DTypeError, ShapeError
from flowgrad.graph.ir import TRACING

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")
from flowgrad.utils.tensorboard import SummaryWriter  # noqa: E402

KEEP_ALL = {kind: 0 for kind in (event_accumulator.SCALARS, event_accumulator.HISTOGRAMS,
                                  event_accumulator.IMAGES, event_accumulator.TENSORS)}


def read(log_dir) -> event_accumulator.EventAccumulator:
    """Every event in the folder's event files, as TensorBoard loads them."""
    events = event_accumulator.EventAccumulator(str(log_dir), size_guidance=KEEP_ALL)
    events.Reload()
    return events


def scalars(log_dir, tag: str) -> list[tuple[int, float]]:
    return [(event.step, event.value) for event in read(log_dir).Scalars(tag)]


# -- scalars ------------------------------------------------------------------------------

def test_scalars_from_tensors_arrays_and_numbers(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("loss", fg.tensor(0.5, requires_grad=True) * 3, global_step=0)
        writer.add_scalar("loss", np.array([[2.25]]), global_step=np.int64(1))
        writer.add_scalar("loss", np.float32(1.75), global_step=fg.tensor(2))
        writer.add_scalar("loss", 7, global_step=3)
        writer.add_scalar("loss", True, global_step=4, walltime=1234.5)
    assert scalars(tmp_path, "loss") == [(0, 1.5), (1, 2.25), (2, 1.75), (3, 7.0), (4, 1.0)]
    assert read(tmp_path).Scalars("loss")[-1].wall_time == 1234.5


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalars("loss", {"train": fg.tensor(0.5**step),
                                        "valid": np.float64(step)}, step)
    assert scalars(tmp_path / "loss_train", "loss") == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert scalars(tmp_path / "loss_valid", "loss") == [(0, 0.0), (1, 1.0), (2, 2.0)]
    assert "loss" not in read(tmp_path).Tags()["scalars"]


# -- histograms ---------------------------------------------------------------------------

@pytest.mark.parametrize("bins", ["tensorflow", 7, "auto", [-4.0, -1.0, 0.0, 0.5, 4.0]])
def test_histogram_matches_numpy(tmp_path, bins):
    values = np.random.default_rng(0).normal(size=(20, 30)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("weights", fg.tensor(values, requires_grad=True), 5, bins=bins)
    (event,) = read(tmp_path).Histograms("weights")
    histogram, flat = event.histogram_value, values.astype(np.float64).reshape(-1)
    assert event.step == 5
    assert histogram.num == flat.size
    assert histogram.min == flat.min() and histogram.max == flat.max()
    assert histogram.sum == pytest.approx(flat.sum())
    assert histogram.sum_squares == pytest.approx(flat @ flat)
    # Buckets hold the counts between consecutive right edges; the first one is empty and
    # only gives the left edge of the second.
    limits, counts = np.array(histogram.bucket_limit), np.array(histogram.bucket)
    assert counts[0] == 0 and counts.sum() == flat.size
    np.testing.assert_array_equal(counts[1:], np.histogram(flat, bins=limits)[0])
    if not isinstance(bins, str):
        edges = np.histogram_bin_edges(flat, bins=np.asarray(bins) if isinstance(bins, list)
                                       else bins)
        np.testing.assert_allclose(limits, edges[: len(limits)])
    if bins == "tensorflow":  # TensorFlow's exponential edges: 10% apart
        positive = limits[limits > 1e-6]
        np.testing.assert_allclose(positive[1:] / positive[:-1], 1.1)


# -- images -------------------------------------------------------------------------------

def decoded(log_dir, tag: str) -> tuple[object, np.ndarray]:
    from PIL import Image

    (event,) = read(log_dir).Images(tag)
    return event, np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))


needs_pillow = pytest.mark.skipif(importlib.util.find_spec("PIL") is None,
                                  reason="images are PNG-encoded with Pillow")


@needs_pillow
def test_image_chw_float_tensor(tmp_path):
    chw = np.random.default_rng(1).uniform(-0.2, 1.2, size=(3, 4, 5)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("sample", fg.tensor(chw, requires_grad=True), 2)
    event, pixels = decoded(tmp_path, "sample")
    assert (event.step, event.width, event.height) == (2, 5, 4)
    expected = np.rint(np.clip(chw.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels, expected)


@needs_pillow
def test_image_hwc_uint8_and_grey(tmp_path):
    hwc = np.random.default_rng(2).integers(0, 256, size=(6, 2, 4), dtype=np.uint8)
    grey = np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("rgba", hwc, dataformats="HWC")
        writer.add_image("grey", grey, dataformats="HW")
    event, pixels = decoded(tmp_path, "rgba")
    assert (event.width, event.height) == (2, 6)
    np.testing.assert_array_equal(pixels, hwc)
    _, pixels = decoded(tmp_path, "grey")
    expected = np.rint(grey * 255).astype(np.uint8)
    assert pixels.shape == (3, 4, 3)  # grey is written as RGB
    for channel in range(3):
        np.testing.assert_array_equal(pixels[..., channel], expected)


# -- text ---------------------------------------------------------------------------------

def test_text(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "lr = **0.1**", 3)
    (event,) = read(tmp_path).Tensors("notes/text_summary")
    assert event.step == 3
    assert event.tensor_proto.string_val == [b"lr = **0.1**"]


# -- graphs -------------------------------------------------------------------------------

def written_graph(log_dir) -> dict:
    """The nodes of the GraphDef in the folder's events, by name."""
    graph_def = read(log_dir).Graph()
    nodes = {node.name: node for node in graph_def.node}
    assert len(nodes) == len(graph_def.node)
    return nodes


def shape_of(node) -> list[int]:
    (shape,) = node.attr["_output_shapes"].list.shape
    return [dim.size for dim in shape.dim]


def test_graph_of_a_module(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, fg.randn(5, 3))
    nodes = written_graph(tmp_path)
    first, relu, second = "Sequential/Linear[0]", "Sequential/ReLU[1]", "Sequential/Linear[2]"
    ops = {name: node.op for name, node in nodes.items()}
    assert ops == {
        "input_0": "placeholder",
        f"{first}/weight": "variable", f"{first}/bias": "variable",
        f"{first}/permute": "permute", f"{first}/matmul": "matmul", f"{first}/add": "add",
        f"{relu}/relu": "relu",
        f"{second}/weight": "variable", f"{second}/bias": "variable",
        f"{second}/permute": "permute", f"{second}/matmul": "matmul", f"{second}/add": "add",
    }
    edges = {name: list(node.input) for name, node in nodes.items() if node.input}
    assert edges == {
        f"{first}/permute": [f"{first}/weight"],
        f"{first}/matmul": ["input_0", f"{first}/permute"],
        f"{first}/add": [f"{first}/matmul", f"{first}/bias"],
        f"{relu}/relu": [f"{first}/add"],
        f"{second}/permute": [f"{second}/weight"],
        f"{second}/matmul": [f"{relu}/relu", f"{second}/permute"],
        f"{second}/add": [f"{second}/matmul", f"{second}/bias"],
    }
    assert shape_of(nodes["input_0"]) == [5, 3]
    assert shape_of(nodes[f"{first}/weight"]) == [4, 3]
    assert shape_of(nodes[f"{relu}/relu"]) == [5, 4]
    assert shape_of(nodes[f"{second}/add"]) == [5, 2]
    from tensorboard.compat.proto import types_pb2 as types
    assert {node.attr["dtype"].type for node in nodes.values()} == {types.DT_FLOAT}
    assert nodes[f"{first}/permute"].attr["dims"].s == b"(1, 0)"
    assert nodes[f"{first}/matmul"].attr["site"].s.startswith(b"tests")
    # Tracing only builds nodes: the model neither ran nor changed, and keeps no hooks.
    for param, value in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(param.detach().numpy(), value)
        assert param.grad is None
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_graph_of_a_training_step_changes_nothing(tmp_path):
    model = nn.Linear(2, 1)
    optimizer = fg.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    weight = model.weight.detach().numpy().copy()
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(train_step, (np.ones((4, 2), np.float32), fg.zeros(4, 1)))
    nodes = written_graph(tmp_path)
    assert {"input_0", "input_1", "Linear/weight", "Linear/bias", "Linear/matmul"} <= set(nodes)
    assert any(node.op == "assign" for node in nodes.values())  # the optimizer's update
    assert shape_of(nodes["input_1"]) == [4, 1]
    np.testing.assert_array_equal(model.weight.detach().numpy(), weight)
    assert model.weight.grad is None


def test_a_failed_trace_puts_everything_back(tmp_path):
    model = nn.Linear(2, 2)

    def branchy(x, scale):
        y = model(x) * scale
        if y.sum() > 0:  # Python control flow on a traced value
            return y
        return -y

    with SummaryWriter(tmp_path) as writer, pytest.raises(fg.errors.TracingError):
        writer.add_graph(branchy, (fg.ones(1, 2), 2.0))
    assert TRACING.graph is None
    assert not model._forward_hooks and not model._forward_pre_hooks
    expected = fg.ones(1, 2).numpy() @ model.weight.detach().numpy().T
    np.testing.assert_allclose(model(fg.ones(1, 2)).detach().numpy(),
                               expected + model.bias.detach().numpy(), rtol=1e-6)
    assert not read(tmp_path).Tags()["graph"]


def test_graph_mode_graph_keeps_its_scopes(tmp_path):
    graph = fg.Graph()
    with graph.as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        with fg.name_scope("layer"):
            w = fg.Variable(np.ones((3, 2), np.float32), name="w")
            y = fg.relu(x @ w)
        fg.group(y, name="train")
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(graph)
    nodes = written_graph(tmp_path)
    assert set(nodes) == {node.name for node in graph.nodes}
    assert shape_of(nodes["x"]) == [-1, 3]  # an unknown dimension
    (matmul,) = (n for n in nodes.values() if n.op == "matmul")
    assert matmul.name.startswith("layer/")
    assert list(matmul.input) == ["x", graph.node("layer/w").name]
    assert list(nodes["train"].input) == ["^layer/relu"]  # a group runs its inputs


def test_graph_of_a_compiled_function(tmp_path):
    @fg.compile
    def affine(x):
        return x * 2 + 1

    affine(fg.ones(3))
    affine(fg.ones(3))
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(affine)
    assert {node.op for node in written_graph(tmp_path).values()} >= {"placeholder", "mul",
                                                                      "add"}


# -- the file -----------------------------------------------------------------------------

def test_flush_writes_queued_events_and_close_reopens(tmp_path):
    writer = SummaryWriter(tmp_path, max_queue=1000, flush_secs=1000, filename_suffix=".x")
    writer.add_scalar("a", 1.0, 0)
    writer.flush()
    assert scalars(tmp_path, "a") == [(0, 1.0)]
    writer.add_scalar("a", 2.0, 1)
    writer.close()
    writer.close()  # harmless
    assert scalars(tmp_path, "a") == [(0, 1.0), (1, 2.0)]
    writer.add_scalar("a", 3.0, 2)  # a new event file, beside the first
    writer.flush()
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2 and all(name.endswith(".x") and ".tfevents." in name
                                   for name in names)
    writer.close()
    assert scalars(tmp_path, "a") == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert writer.log_dir == writer.get_logdir() == str(tmp_path)


def test_purge_step_hides_the_earlier_runs_later_steps(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(5):
            writer.add_scalar("x", float(step), step)
    with SummaryWriter(tmp_path, purge_step=3) as writer:
        writer.add_scalar("x", 30.0, 3)
    assert scalars(tmp_path, "x") == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 30.0)]


def test_default_log_dir_is_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        assert os.path.dirname(writer.log_dir) == "runs"
        assert writer.log_dir.endswith("_lr0.1")
        assert os.path.isdir(writer.log_dir)


# -- errors -------------------------------------------------------------------------------

def symbolic():
    with fg.Graph().as_default():
        return fg.placeholder(fg.float32, shape=(), name="loss_value")


BAD_CALLS = [
    (lambda w: w.add_scalar("loss", symbolic()), TypeError,
     ["add_scalar('loss')", "scalar_value", "symbolic", "loss_value"]),
    (lambda w: w.add_scalar("loss", fg.ones(3)), ShapeError,
     ["add_scalar('loss')", "scalar_value has shape (3,)", "one value"]),
    (lambda w: w.add_scalar("loss", "0.5"), TypeError,
     ["add_scalar('loss')", "scalar_value is a str ('0.5')", "Tensor"]),
    (lambda w: w.add_scalar("loss", np.array(1 + 2j)), DTypeError,
     ["add_scalar('loss')", "complex128", "real numbers"]),
    (lambda w: w.add_scalar(3, 1.0), TypeError, ["add_scalar", "tag is an int (3)", "str"]),
    (lambda w: w.add_scalar("loss", 1.0, global_step=1.5), TypeError,
     ["add_scalar('loss')", "global_step is a float (1.5)", "int"]),
    (lambda w: w.add_scalar("loss", 1.0, walltime="now"), TypeError,
     ["add_scalar('loss')", "walltime"]),
    (lambda w: w.add_scalars("loss", {"train": 1.0, "valid": np.zeros(2)}), ShapeError,
     ["add_scalars('loss')", "tag_scalar_dict['valid'] has shape (2,)"]),
    (lambda w: w.add_scalars("loss", [1.0]), TypeError, ["add_scalars('loss')", "dict"]),
    (lambda w: w.add_histogram("w", np.zeros((0, 3))), ShapeError,
     ["add_histogram('w')", "values is empty"]),
    (lambda w: w.add_histogram("w", [1.0, np.nan]), ValueError,
     ["add_histogram('w')", "1 NaN or infinite"]),
    (lambda w: w.add_histogram("w", [1.0], bins="log"), ValueError,
     ["add_histogram('w')", "bins='log'", "'tensorflow'"]),
    (lambda w: w.add_histogram("w", [1.0], bins=[2.0, 1.0]), ShapeError,
     ["add_histogram('w')", "increasing bin edges"]),
    (lambda w: w.add_image("img", np.zeros((4, 5))), ShapeError,
     ["add_image('img')", "shape (4, 5)", "dataformats='CHW'", "3 dimensions"]),
    (lambda w: w.add_image("img", np.zeros((2, 4, 5))), ShapeError,
     ["add_image('img')", "2 channels", "1 (grey), 3 (RGB) or 4 (RGBA)"]),
    (lambda w: w.add_image("img", np.zeros((3, 4, 5), np.int32)), DTypeError,
     ["add_image('img')", "int32", "uint8"]),
    (lambda w: w.add_image("img", np.zeros((3, 4, 5)), dataformats="NCHW"), ValueError,
     ["add_image('img')", "dataformats='NCHW'", "'HWC'"]),
    (lambda w: w.add_text("notes", 42), TypeError, ["add_text('notes')", "an int (42)", "str"]),
    (lambda w: w.add_graph(nn.Linear(2, 2)), TypeError,
     ["add_graph", "Linear", "input_to_model"]),
    (lambda w: w.add_graph(nn.Linear(2, 2), symbolic()), TypeError,
     ["add_graph", "input_to_model[0]", "symbolic"]),
    (lambda w: w.add_graph(fg.Graph(), fg.ones(2)), TypeError,
     ["add_graph", "Graph", "input_to_model must be None"]),
    (lambda w: w.add_graph("model"), TypeError, ["add_graph", "str", "nn.Module"]),
]


@pytest.mark.parametrize(("call", "error", "fragments"), BAD_CALLS)
def test_bad_values_are_refused_before_writing(tmp_path, call, error, fragments):
    writer = SummaryWriter(tmp_path)
    with pytest.raises(error) as caught:
        call(writer)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "test_tensorboard.py" in message  # the user's line
    writer.close()
    events = read(tmp_path)
    assert not any(events.Tags()[kind] for kind in ("scalars", "histograms", "images",
                                                    "tensors"))
    assert not events.Tags()["graph"]
    assert os.listdir(tmp_path) == [name for name in os.listdir(tmp_path) if "tfevents" in name]


def test_bad_purge_step_is_refused_before_a_file_is_made(tmp_path):
    with pytest.raises(TypeError, match="purge_step is a str"):
        SummaryWriter(tmp_path / "run", purge_step="3")
    assert not (tmp_path / "run").exists()


def test_missing_tensorboardx_names_the_extra(tmp_path, monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "tensorboardX"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it fails
    with pytest.raises(ImportError) as caught:
        SummaryWriter(tmp_path)
    assert "SummaryWriter needs the 'tensorboardX' package" in str(caught.value)
    assert "pip install 'flowgrad[tensorboard]'" in str(caught.value)
    assert not os.listdir(tmp_path)


def test_importing_the_namespace_does_not_import_tensorboardx():
    code = ("import sys, flowgrad.utils, flowgrad.utils.tensorboard; "
            "assert 'tensorboardX' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
