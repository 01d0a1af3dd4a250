"""fg.onnx.export: every op of the op table and every layer of fg.nn, exported and run in
onnxruntime, gives what flowgrad gives; models pass onnx.checker; names, dynamic axes and
opsets are honoured; what cannot be exported is reported before any file is written."""

import contextlib
import inspect
import os
import re
import sys

import numpy as np
import pytest
from optest import Case, as_list
from test_op_table import CASES

import flowgrad as fg
import flowgrad.onnx
from flowgrad import nn
from flowgrad.errors import ExportError
from flowgrad.ops import PRIMITIVES
from flowgrad.ops.indexing import SLOT, index_scatter
from flowgrad.ops.nn import max_pool2d, max_pool2d_argmax, max_pool2d_backward

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# Made once: building a session is what costs here, not running it.
SESSION_OPTIONS = ort.SessionOptions()
SESSION_OPTIONS.log_severity_level = 3
SESSION_OPTIONS.intra_op_num_threads = 1

# Op-table cases that cannot be exported at the default opset (17), and the primitive the
# error must name: integer bitwise operators exist in ONNX from opset 18 on.
UNSUPPORTED_AT_17 = {
    "int&int": "bitwise_and", "int|int": "bitwise_or", "int^int": "bitwise_xor",
    "int&bool": "bitwise_and",
}
# Cases whose first input's leading size decides the result's rank or structure (as in
# tests/ops/test_graph_mode.py): they cannot be traced with that size unknown.
NEEDS_STATIC_BATCH = {"squeeze", "chunk-uneven", "logsumexp-empty-keepdim"}
# Cases that draw random numbers: their export warns so (their draws are constant).
RANDOM = {"draw-constant-integers", "keep_mask-p0"}


def run(model, *arrays, names=None) -> list[np.ndarray]:
    """The model's outputs in onnxruntime."""
    session = ort.InferenceSession(model.SerializeToString(), SESSION_OPTIONS,
                                   providers=["CPUExecutionProvider"])
    names = names or [i.name for i in model.graph.input]
    return session.run(None, dict(zip(names, arrays, strict=True)))


def assert_matches(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Same dtype and shape; floats within 1e-5 (relative for large values), others equal."""
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, flowgrad {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, flowgrad {expected.shape}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                   rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


def eager(fn, *arrays) -> list[np.ndarray]:
    """What flowgrad computes, eagerly, on the same arrays."""
    with np.errstate(all="ignore"), fg.no_grad():
        return [np.asarray(out.numpy()) for out in as_list(fn(*map(fg.tensor, arrays)))]


def float32(case: Case) -> list[np.ndarray]:
    """The case's inputs with float64 made float32: what the ONNX models are checked in."""
    return [a.astype(np.float32) if a.dtype == np.float64 else a for a in case.inputs]


def check_case(case: Case, path, opset: int, dynamic: bool, unsupported: dict) -> None:
    arrays = float32(case)

    def fn(*xs):
        return case.fn(fg, *xs)

    axes = {"input_0": [0]} if dynamic else None
    if case.name in unsupported:
        path = path.with_name("refused.onnx")  # no export ever writes it
        with pytest.raises(ExportError) as info:
            fg.onnx.export(fn, arrays, path, dynamic_axes=axes, opset=opset)
        assert unsupported[case.name] in str(info.value)
        assert "test_op_table.py:" in str(info.value)  # the line that made the operation
        assert not os.path.exists(path)
        return
    warns = pytest.warns(UserWarning, match="random") if case.name in RANDOM else (
        contextlib.nullcontext())
    with np.errstate(all="ignore"), warns:
        model = fg.onnx.export(fn, arrays, path, dynamic_axes=axes, opset=opset)
    expected = eager(fn, *arrays)
    got = run(model, *arrays)
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert_matches(g, e, f"{case.name}: output {k}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_op_table_case_runs_in_onnxruntime_as_in_flowgrad(case, folder):
    """Every input shape known, opset 17: exported, or refused as listed."""
    check_case(case, folder / "case.onnx", 17, False, UNSUPPORTED_AT_17)


DYNAMIC = [c for c in CASES if c.inputs and c.inputs[0].ndim >= 1
           and c.name not in NEEDS_STATIC_BATCH]


@pytest.mark.parametrize("case", DYNAMIC, ids=[c.name for c in DYNAMIC])
def test_op_table_case_with_an_unknown_batch_at_opset_18(case, folder):
    """The first input's leading size symbolic (the graph is built without it), opset 18:
    everything exports, integer bitwise operators included."""
    check_case(case, folder / "dynamic.onnx", 18, True, {})


def test_every_primitive_is_exported_or_listed_as_gradient_only():
    from flowgrad.io.onnx_ops import GRADIENT_ONLY, TRANSLATIONS

    assert set(PRIMITIVES) == set(TRANSLATIONS) | set(GRADIENT_ONLY)
    assert not set(TRANSLATIONS) & set(GRADIENT_ONLY)


# -- primitives eager code never makes this way, called directly -----------------------------

_x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
_images = np.random.default_rng(1).permutation(64).reshape(2, 1, 2, 4, 4).astype(np.float32)
DIRECT = {
    # id: (function of (g, x), g, x); x is the value indexed (the scatter has its shape)
    "index_scatter-basic": (lambda g, x: index_scatter.bind(
        g, shape=(3, 4), template=(slice(1, None), -1), accumulate=False), _x[1:, -1], _x),
    "index_scatter-repeats-add-up": (lambda g, x: index_scatter.bind(
        g, fg.tensor(np.array([0, 2, 0, -1])), shape=(3, 4), template=(SLOT,),
        accumulate=True), np.ones((4, 4), np.float32), _x),
    "index_scatter-shape-at-run-time": (lambda g, x: index_scatter.bind(
        g, fg.tensor(np.array([[True, False, True, True]] * 3)), x, shape=None,
        template=(SLOT,), accumulate=False), np.arange(9, dtype=np.float32), _x),
    # The maxima of one input's windows, taken from another (not max pooling itself).
    "max_pool2d-positions-of-another": (lambda g, x: max_pool2d.bind(g, max_pool2d_argmax.bind(
        x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)),
        *_images),
}


@pytest.mark.parametrize("name", list(DIRECT))
def test_primitive_called_directly_runs_in_onnxruntime_as_in_flowgrad(name, tmp_path):
    fn, g, x = DIRECT[name]
    model = fg.onnx.export(fn, (g, x), tmp_path / "direct.onnx")
    assert_matches(run(model, g, x)[0], eager(fn, g, x)[0], name)


def test_log1p_keeps_its_precision_near_zero(tmp_path):
    x = np.array([1e-10, -3e-8, 2e-6, 0.0, 0.5, -0.75], dtype=np.float32)
    model = fg.onnx.export(lambda t: t.log1p(), x, tmp_path / "log1p.onnx")
    np.testing.assert_allclose(run(model, x)[0], np.log1p(x), rtol=1e-6, atol=0)


# -- layers ---------------------------------------------------------------------------------

rng = np.random.default_rng(0)


def randn(*shape, scale=1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def trained_norm(layer, *shape):
    """A batch-norm layer whose running statistics moved away from 0 and 1."""
    layer.train()
    with fg.no_grad():
        for _ in range(3):
            layer(fg.tensor(randn(*shape) * 2 + 1))
    return layer


# (id, make() -> layer, inputs): each layer runs in eval mode.
LAYERS = [
    ("Linear", lambda: nn.Linear(4, 3), [randn(2, 4)]),
    ("Linear-no-bias-3d", lambda: nn.Linear(4, 3, bias=False), [randn(2, 5, 4)]),
    ("Bilinear", lambda: nn.Bilinear(3, 4, 2), [randn(5, 3), randn(5, 4)]),
    ("Identity", lambda: nn.Identity(), [randn(2, 3)]),
    ("Conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [randn(2, 3, 9)]),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding=1), [randn(2, 3, 6, 5)]),
    ("Conv2d-groups-dilation", lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), dilation=2,
                                                 groups=2), [randn(1, 4, 9, 7)]),
    ("Conv2d-same", lambda: nn.Conv2d(2, 3, 4, padding="same"), [randn(1, 2, 6, 6)]),
    *((f"Conv2d-{mode}", lambda mode=mode: nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode),
       [randn(1, 2, 5, 6)]) for mode in ("reflect", "replicate", "circular")),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1),
     [randn(2, 3, 5)]),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                   output_padding=1, groups=2),
     [randn(2, 4, 4, 3)]),
    ("MaxPool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), [randn(2, 3, 9)]),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), [randn(2, 3, 6, 6)]),
    ("MaxPool2d-ceil", lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     [randn(1, 2, 8, 7)]),
    # The last dilated window reaches 3 rows past the input: more than the kernel's 2.
    ("MaxPool2d-ceil-dilated", lambda: nn.MaxPool2d(2, stride=4, dilation=3, ceil_mode=True),
     [randn(1, 2, 9, 9)]),
    ("AvgPool1d", lambda: nn.AvgPool1d(2), [randn(2, 3, 8)]),
    ("AvgPool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1), [randn(2, 3, 7, 6)]),
    ("AvgPool2d-ceil-exclude-pad", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                         count_include_pad=False),
     [randn(2, 3, 7, 6)]),
    ("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(3), [randn(2, 3, 7)]),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), [randn(2, 3, 5, 7)]),
    ("BatchNorm1d", lambda: trained_norm(nn.BatchNorm1d(4), 8, 4), [randn(3, 4)]),
    ("BatchNorm1d-3d", lambda: trained_norm(nn.BatchNorm1d(4), 8, 4, 5), [randn(3, 4, 5)]),
    ("BatchNorm2d", lambda: trained_norm(nn.BatchNorm2d(3), 4, 3, 5, 5), [randn(2, 3, 5, 5)]),
    ("BatchNorm3d", lambda: trained_norm(nn.BatchNorm3d(2), 2, 2, 3, 3, 3),
     [randn(2, 2, 3, 3, 3)]),
    ("LayerNorm", lambda: nn.LayerNorm((3, 4)), [randn(2, 3, 4)]),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), [randn(2, 4, 3, 3)]),
    ("RMSNorm", lambda: nn.RMSNorm(4), [randn(2, 3, 4)]),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), [randn(2, 5, 3, 3)]),
    *((name, lambda cls=cls: cls(p=0.5), [randn(2, 3, 4, 4)])
      for name, cls in (("Dropout", nn.Dropout), ("Dropout2d", nn.Dropout2d),
                        ("AlphaDropout", nn.AlphaDropout))),
    ("Dropout1d", lambda: nn.Dropout1d(), [randn(2, 3, 4)]),
    ("Dropout3d", lambda: nn.Dropout3d(), [randn(2, 3, 2, 2, 2)]),
    ("Flatten", lambda: nn.Flatten(), [randn(2, 3, 4)]),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), [randn(2, 6, 4)]),
    ("Embedding", lambda: nn.Embedding(10, 3), [np.array([[1, 4, 9], [0, 4, 2]])]),
    ("Embedding-padding", lambda: nn.Embedding(5, 2, padding_idx=0), [np.array([0, 3, 0])]),
    ("Upsample-nearest", lambda: nn.Upsample(scale_factor=2), [randn(1, 2, 3, 4)]),
    ("Upsample-bilinear", lambda: nn.Upsample(size=(5, 7), mode="bilinear"),
     [randn(1, 2, 3, 4)]),
    ("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(size=(4, 6)), [randn(1, 2, 3, 4)]),
    ("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2),
     [randn(1, 2, 3, 4)]),
    ("Softmax", lambda: nn.Softmax(dim=1), [randn(2, 5)]),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), [randn(2, 5)]),
    ("Softmin", lambda: nn.Softmin(dim=0), [randn(2, 5)]),
    ("GLU", lambda: nn.GLU(), [randn(2, 6)]),
    ("PReLU", lambda: nn.PReLU(num_parameters=3, init=0.1), [randn(2, 3, 4)]),
    *((name, getattr(nn, name), [randn(3, 4, 5, scale=3)])
      for name in ("ReLU", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Sigmoid",
                   "Tanh", "Softplus", "LogSigmoid", "Hardtanh", "ReLU6", "Mish", "Softsign",
                   "Hardsigmoid", "Hardswish")),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), [randn(3, 4, scale=3)]),
    ("MSELoss", lambda: nn.MSELoss(), [randn(3, 4), randn(3, 4)]),
    ("L1Loss-sum", lambda: nn.L1Loss(reduction="sum"), [randn(3, 4), randn(3, 4)]),
    ("HuberLoss", lambda: nn.HuberLoss(delta=0.5), [randn(3, 4), randn(3, 4)]),
    ("SmoothL1Loss", lambda: nn.SmoothL1Loss(), [randn(3, 4), randn(3, 4)]),
    ("BCELoss", lambda: nn.BCELoss(),
     [rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32),
      rng.integers(0, 2, (3, 4)).astype(np.float32)]),
    ("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(),
     [randn(3, 4), rng.integers(0, 2, (3, 4)).astype(np.float32)]),
    ("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(), [randn(4, 5), np.array([0, 4, 2, 2])]),
    ("CrossEntropyLoss-smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
     [randn(4, 5), np.array([0, 4, 2, 2])]),
    ("NLLLoss", lambda: nn.NLLLoss(reduction="none"), [randn(4, 5), np.array([1, 0, 4, 1])]),
    ("KLDivLoss", lambda: nn.KLDivLoss(reduction="batchmean"),
     [np.log(rng.uniform(0.1, 1, (3, 4))).astype(np.float32),
      rng.uniform(0.1, 1, (3, 4)).astype(np.float32)]),
    ("Sequential", lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3),
                                         nn.Linear(8, 2)), [randn(5, 4)]),
]


@pytest.mark.parametrize(("name", "make", "arrays"), LAYERS, ids=[n for n, *_ in LAYERS])
def test_layer_runs_in_onnxruntime_as_in_flowgrad(name, make, arrays, folder):
    fg.manual_seed(0)
    layer = make().eval()
    model = fg.onnx.export(layer, arrays, folder / "layer.onnx")
    expected = eager(layer, *arrays)
    assert_matches(run(model, *arrays)[0], expected[0], name)
    # Every parameter and buffer the model reads is an initializer named as in state_dict.
    names = {t.name for t in model.graph.initializer}
    for key in layer.state_dict():
        if key.endswith(("weight", "bias")):
            assert key in names, f"{key} is not an initializer (has {sorted(names)})"


def test_module_and_module_list_inside_a_custom_module(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)})

        def forward(self, x):
            for block in self.blocks:
                x = block(x).relu() + x
            return self.heads["a"](x), self.heads["b"](x)

    net = Net().eval()
    x = randn(4, 3)
    model = fg.onnx.export(net, x, tmp_path / "net.onnx")
    for got, expected in zip(run(model, x), eager(net, x), strict=True):
        assert_matches(got, expected, "Net")
    assert {"blocks.0.weight", "blocks.1.bias", "heads.a.weight", "heads.b.bias"} <= {
        t.name for t in model.graph.initializer}


# -- the article's CNN, dynamic batch -------------------------------------------------------


def article_cnn():
    fg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8192, 64), nn.ReLU(), nn.Linear(64, 10))


def test_article_cnn_with_a_dynamic_batch_runs_at_two_batch_sizes(tmp_path):
    cnn = article_cnn().eval()
    path = tmp_path / "cnn.onnx"
    fg.onnx.export(cnn, randn(1, 3, 32, 32), path, input_names=["images"],
                   output_names=["logits"],
                   dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (model.graph.input[0], model.graph.output[0])]
    assert dims == [["batch", 3, 32, 32], ["batch", 10]]
    for batch in (2, 5):
        images = randn(batch, 3, 32, 32)
        with fg.no_grad():
            expected = cnn(fg.tensor(images)).numpy()
        assert_matches(run(model, images)[0], expected, f"batch {batch}")


@pytest.mark.parametrize("opset", range(13, 19))
def test_each_opset_from_13_to_18(opset, tmp_path):
    """Opsets change how reductions take their axes and which integer types Add takes."""
    fg.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64, 5)).eval()

    def fn(images, small, unsigned):
        logits = cnn(images)
        return (logits.amax(1), logits.prod(0, keepdim=True), logits.any(), small + small,
                small * small, -unsigned, ~unsigned, ~small)

    arrays = [randn(2, 3, 8, 8), np.array([100, -7], dtype=np.int8),
              np.array([3, 250], dtype=np.uint8)]
    model = fg.onnx.export(fn, arrays, tmp_path / "model.onnx", opset=opset)
    assert model.opset_import[0].version == opset
    for k, (got, expected) in enumerate(zip(run(model, *arrays), eager(fn, *arrays),
                                            strict=True)):
        assert_matches(got, expected, f"opset {opset}: output {k}")


# -- names, checker, errors -------------------------------------------------------------------


def test_names_default_and_given_and_the_file_is_the_checked_model(tmp_path):
    def fn(a, b):
        return a + b, a * b

    arrays = [randn(2), randn(2)]
    model = fg.onnx.export(fn, arrays, tmp_path / "default.onnx")
    assert [i.name for i in model.graph.input] == ["input_0", "input_1"]
    assert [o.name for o in model.graph.output] == ["output_0", "output_1"]
    path = tmp_path / "named.onnx"
    model = fg.onnx.export(fn, arrays, str(path), input_names=["a", "b"],
                           output_names=["total", "product"], dynamic_axes={"a": [0]})
    assert [i.name for i in model.graph.input] == ["a", "b"]
    assert [o.name for o in model.graph.output] == ["total", "product"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "a_dynamic_axes_1"
    loaded = onnx.load(path)
    assert loaded == model
    onnx.checker.check_model(loaded, full_check=True)
    _, product = run(loaded, *arrays, names=["a", "b"])
    assert_matches(product, arrays[0] * arrays[1], "product")


def test_unsupported_operations_are_reported_with_their_lines_before_anything_is_written(
        tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous model")

    def fn(g, positions):
        unpooled = max_pool2d_backward.bind(g, positions, input_shape=(1, 1, 2, 2))
        masked = positions & 3  # integer bitwise operators need opset 18
        return unpooled, masked

    first = inspect.getsourcelines(fn)[1] + 1
    with pytest.raises(ExportError) as info:
        fg.onnx.export(fn, (randn(1, 1, 1, 1), np.zeros((1, 1, 1, 1), np.int64)), path)
    message = str(info.value)
    assert "2 operation(s) cannot be exported" in message
    assert re.search(rf"max_pool2d_backward at \S*test_onnx.py:{first}: .*gradient-only",
                     message)
    assert re.search(rf"bitwise_and at \S*test_onnx.py:{first + 1}: .*opset=18", message)
    assert path.read_bytes() == b"the previous model"
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous model")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        fg.onnx.export(lambda x: x * 2, randn(3), path)
    assert path.read_bytes() == b"the previous model"
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_a_missing_onnx_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"flowgrad\[onnx\]"):
        fg.onnx.export(lambda x: x, randn(2), tmp_path / "model.onnx")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(("kwargs", "error", "text"), [
    ({"opset": 12}, ValueError, "opset must be an int from 13"),
    ({"input_names": ["a", "b"]}, ValueError, "input_names must be 1"),
    ({"output_names": ["x"]}, ValueError, "input and output names must be distinct"),
    ({"dynamic_axes": {"y": [0]}}, ValueError, "neither an input"),
    ({"dynamic_axes": {"input_0": [2]}}, ValueError, "has 1 dimensions"),
])
def test_bad_arguments_are_refused(kwargs, error, text, tmp_path):
    args = {"input_names": ["x"], **kwargs} if "output_names" in kwargs else kwargs
    with pytest.raises(error, match=text):
        fg.onnx.export(lambda x: x + 1, randn(2), tmp_path / "m.onnx", **args)
    with pytest.raises(TypeError, match="example input 0 is a str"):
        fg.onnx.export(lambda x: x + 1, "x", tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_training_mode_exports_dropout_and_warns(tmp_path):
    layer = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = randn(64, 4)
    with pytest.warns(UserWarning, match="random numbers") as caught:
        model = fg.onnx.export(layer[:2], x, tmp_path / "dropout.onnx")
    got = run(model, x)[0]
    with fg.no_grad():
        kept = layer[0](fg.tensor(x)).numpy() * 2
    assert np.all(np.isclose(got, 0) | np.isclose(got, kept, rtol=1e-5, atol=1e-6))
    assert 0.3 < np.mean(got == 0) < 0.7
    assert len(caught) == 1
    with pytest.warns(UserWarning, match="updates its state"):
        fg.onnx.export(layer[2], x, tmp_path / "norm.onnx")
