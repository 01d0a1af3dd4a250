"""Every ``fg.nn`` layer in graph mode: applied to placeholders whose batch dimension is
unknown (``None``), it builds nodes whose static shapes come from the shape rules, and a
``Session`` gives the eager output and the eager gradients. The layer's parameters are captured
as trainable variables that share the eager parameters' memory. Then a small MLP trained with
``Adam.minimize`` in a graph takes the steps of the same MLP trained eagerly.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.graph.build import is_symbolic

nn = fg.nn
rng = np.random.default_rng(5)
BATCH = 3


def randn(*shape, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def uniform(low: float, high: float, *shape) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(np.float32)


def classes(high: int, *shape) -> np.ndarray:
    return rng.integers(0, high, shape).astype(np.int64)


def probabilities(*shape) -> np.ndarray:
    e = np.exp(randn(*shape))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def with_running_stats(layer, *shape):
    """A batch-norm layer in eval mode whose running statistics moved off 0 and 1."""
    layer.train()
    for _ in range(3):
        layer(fg.tensor(randn(*shape, scale=2.0) + 1.0))
    return layer.eval()


_activation_input = randn(BATCH, 4, 6, scale=3.0)

# (id, make() -> layer in the mode to test, input arrays; the first dimension of each is the
# batch, which the placeholders leave unknown).
LAYERS = [
    ("Linear", lambda: nn.Linear(4, 3), [randn(BATCH, 4)]),
    ("Linear-no-bias-3d", lambda: nn.Linear(4, 2, bias=False), [randn(BATCH, 2, 4)]),
    ("Bilinear", lambda: nn.Bilinear(3, 4, 2), [randn(BATCH, 3), randn(BATCH, 4)]),
    ("Identity", lambda: nn.Identity(), [randn(BATCH, 4)]),
    ("Conv1d", lambda: nn.Conv1d(3, 4, 3, padding=1, stride=2), [randn(BATCH, 3, 9)]),
    ("Conv1d-reflect", lambda: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"),
     [randn(BATCH, 2, 7)]),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), [randn(BATCH, 3, 7, 6)]),
    ("Conv2d-groups-dilation", lambda: nn.Conv2d(4, 6, (3, 2), dilation=(1, 2), groups=2,
                                                 bias=False), [randn(BATCH, 4, 6, 7)]),
    ("Conv2d-same-circular", lambda: nn.Conv2d(2, 3, 3, padding="same",
                                               padding_mode="circular"), [randn(BATCH, 2, 5, 5)]),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1,
                                                   output_padding=1), [randn(BATCH, 4, 4, 3)]),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 2, 4, stride=3), [randn(BATCH, 3, 5)]),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), [randn(BATCH, 2, 6, 6)]),
    ("MaxPool2d-ceil", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), [randn(BATCH, 2, 7, 8)]),
    ("MaxPool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), [randn(BATCH, 2, 9)]),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), [randn(BATCH, 2, 6, 6)]),
    ("AvgPool2d-exclude-pad", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                   count_include_pad=False),
     [randn(BATCH, 2, 7, 6)]),
    ("AvgPool1d", lambda: nn.AvgPool1d(4, stride=3, padding=2), [randn(BATCH, 3, 9)]),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), [randn(BATCH, 2, 6, 6)]),
    ("AdaptiveAvgPool2d-uneven", lambda: nn.AdaptiveAvgPool2d((4, 3)),
     [randn(BATCH, 2, 7, 5)]),
    ("AdaptiveAvgPool2d-1", lambda: nn.AdaptiveAvgPool2d(1), [randn(BATCH, 2, 5, 4)]),
    ("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(4), [randn(BATCH, 3, 9)]),
    ("Upsample-nearest", lambda: nn.Upsample(scale_factor=2), [randn(BATCH, 2, 3, 4)]),
    ("Upsample-bilinear", lambda: nn.Upsample(size=(5, 7), mode="bilinear"),
     [randn(BATCH, 2, 3, 4)]),
    ("BatchNorm1d-eval", lambda: with_running_stats(nn.BatchNorm1d(4), 8, 4),
     [randn(BATCH, 4)]),
    ("BatchNorm1d-eval-3d", lambda: with_running_stats(nn.BatchNorm1d(3), 4, 3, 5),
     [randn(BATCH, 3, 5)]),
    ("BatchNorm2d-eval", lambda: with_running_stats(nn.BatchNorm2d(3), 4, 3, 4, 4),
     [randn(BATCH, 3, 4, 4)]),
    ("BatchNorm3d-eval", lambda: with_running_stats(nn.BatchNorm3d(2), 2, 2, 3, 3, 3),
     [randn(BATCH, 2, 3, 3, 3)]),
    ("LayerNorm", lambda: nn.LayerNorm((3, 4)), [randn(BATCH, 3, 4)]),
    ("LayerNorm-no-affine", lambda: nn.LayerNorm(5, elementwise_affine=False),
     [randn(BATCH, 2, 5)]),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), [randn(BATCH, 4, 3, 2)]),
    ("RMSNorm", lambda: nn.RMSNorm(4), [randn(BATCH, 2, 4)]),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), [randn(BATCH, 5, 2, 2)]),
    ("Dropout-eval", lambda: nn.Dropout(0.5).eval(), [randn(BATCH, 4)]),
    ("Dropout2d-eval", lambda: nn.Dropout2d(0.3).eval(), [randn(BATCH, 2, 3, 3)]),
    ("AlphaDropout-eval", lambda: nn.AlphaDropout(0.2).eval(), [randn(BATCH, 4)]),
    ("Embedding", lambda: nn.Embedding(7, 3), [classes(7, BATCH, 4)]),
    ("Embedding-padding", lambda: nn.Embedding(7, 3, padding_idx=0), [classes(7, BATCH, 4)]),
    ("Flatten", lambda: nn.Flatten(), [randn(BATCH, 2, 3, 2)]),
    ("Flatten-middle", lambda: nn.Flatten(1, 2), [randn(BATCH, 2, 3, 2)]),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), [randn(BATCH, 6)]),
    ("Unflatten-minus1", lambda: nn.Unflatten(-1, (2, -1)), [randn(BATCH, 2, 6)]),
    ("Sequential", lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)),
     [randn(BATCH, 4)]),
    *[(name, make, [_activation_input]) for name, make in [
        ("ReLU", lambda: nn.ReLU()),
        ("LeakyReLU", lambda: nn.LeakyReLU(0.2)),
        ("ELU", lambda: nn.ELU(alpha=0.5)),
        ("SELU", lambda: nn.SELU()),
        ("CELU", lambda: nn.CELU(alpha=1.5)),
        ("GELU", lambda: nn.GELU()),
        ("GELU-tanh", lambda: nn.GELU(approximate="tanh")),
        ("SiLU", lambda: nn.SiLU()),
        ("Sigmoid", lambda: nn.Sigmoid()),
        ("Tanh", lambda: nn.Tanh()),
        ("Softplus", lambda: nn.Softplus(beta=2.0, threshold=3.0)),
        ("Softmax", lambda: nn.Softmax(dim=1)),
        ("Softmax-batch-dim", lambda: nn.Softmax(dim=0)),
        ("Softmin", lambda: nn.Softmin(dim=-1)),
        ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1)),
        ("LogSigmoid", lambda: nn.LogSigmoid()),
        ("Hardtanh", lambda: nn.Hardtanh(-2.0, 0.5)),
        ("ReLU6", lambda: nn.ReLU6()),
        ("Mish", lambda: nn.Mish()),
        ("Softsign", lambda: nn.Softsign()),
        ("Hardsigmoid", lambda: nn.Hardsigmoid()),
        ("Hardswish", lambda: nn.Hardswish()),
        ("GLU", lambda: nn.GLU(dim=-1)),
        ("PReLU", lambda: nn.PReLU(num_parameters=4, init=0.1)),
    ]],
]

_x, _y = randn(BATCH, 4), randn(BATCH, 4)
_logits = randn(BATCH, 5)
for _reduction in ("mean", "sum", "none"):
    LAYERS += [
        (f"MSELoss-{_reduction}", lambda r=_reduction: nn.MSELoss(reduction=r), [_x, _y]),
        (f"L1Loss-{_reduction}", lambda r=_reduction: nn.L1Loss(reduction=r), [_x, _y]),
        (f"SmoothL1Loss-{_reduction}", lambda r=_reduction: nn.SmoothL1Loss(reduction=r,
                                                                            beta=0.5), [_x, _y]),
        (f"HuberLoss-{_reduction}", lambda r=_reduction: nn.HuberLoss(reduction=r, delta=0.7),
         [_x, _y]),
        (f"BCELoss-{_reduction}", lambda r=_reduction: nn.BCELoss(reduction=r),
         [uniform(0.05, 0.95, BATCH, 4), uniform(0.0, 1.0, BATCH, 4)]),
        (f"BCEWithLogitsLoss-{_reduction}", lambda r=_reduction: nn.BCEWithLogitsLoss(
            reduction=r, pos_weight=fg.tensor([0.5, 1.0, 2.0, 1.5])),
         [_x, uniform(0.0, 1.0, BATCH, 4)]),
        (f"NLLLoss-{_reduction}", lambda r=_reduction: nn.NLLLoss(reduction=r),
         [_logits, classes(5, BATCH)]),
        (f"CrossEntropyLoss-{_reduction}", lambda r=_reduction: nn.CrossEntropyLoss(
            reduction=r), [_logits, classes(5, BATCH)]),
        (f"CrossEntropyLoss-options-{_reduction}", lambda r=_reduction: nn.CrossEntropyLoss(
            weight=fg.tensor([1.0, 2.0, 0.5, 1.0, 3.0]), ignore_index=1, label_smoothing=0.1,
            reduction=r), [randn(BATCH, 5, 2), np.array([[1, 0], [4, 1], [2, 3]])]),
        (f"CrossEntropyLoss-probabilities-{_reduction}", lambda r=_reduction:
         nn.CrossEntropyLoss(reduction=r), [_logits, probabilities(BATCH, 5)]),
        (f"KLDivLoss-{_reduction}", lambda r=_reduction: nn.KLDivLoss(reduction=r),
         [np.log(probabilities(BATCH, 5)), probabilities(BATCH, 5)]),
    ]
LAYERS.append(("KLDivLoss-batchmean-log-target", lambda: nn.KLDivLoss(
    reduction="batchmean", log_target=True), [np.log(probabilities(BATCH, 5)),
                                              np.log(probabilities(BATCH, 5))]))


def graph_run(layer, arrays: list, upstream: np.ndarray | None):
    """The layer in a graph, the batch dimension of every input unknown: the graph, the
    symbolic output, and the output and the gradients of ``sum(output * upstream)`` with
    respect to the floating-point inputs and the parameters that a Session computes."""
    with fg.Graph().as_default() as graph:
        inputs = [fg.placeholder(a.dtype, shape=(None, *a.shape[1:]), name=f"input{i}")
                  for i, a in enumerate(arrays)]
        out = layer(*inputs)
        grads = []
        if upstream is not None:
            wrt = [p for p in inputs if p.dtype.is_floating_point] + trained(layer)
            grads = fg.gradients((out * fg.constant(upstream)).sum(), wrt)
        fetched = [g for g in grads if g is not None]
        with fg.Session() as sess:
            values = sess.run([out, *fetched], dict(zip(inputs, arrays, strict=True)))
    found = iter(values[1:])
    return graph, out, values[0], [None if g is None else next(found) for g in grads]


def trained(layer) -> list:
    return [p for p in layer.parameters() if p.requires_grad]


def assert_same(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, eager {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, eager {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.parametrize(("make", "arrays"), [(m, a) for _, m, a in LAYERS],
                         ids=[name for name, _, _ in LAYERS])
def test_layer_on_placeholders_equals_eager(make, arrays) -> None:
    fg.manual_seed(0)
    layer = make()
    inputs = [fg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    expected = layer(*inputs)
    shape = tuple(expected.shape)
    upstream = None
    eager_grads = []
    if expected.is_floating_point():
        upstream = np.random.default_rng(0).standard_normal(shape).astype(expected._data.dtype)
        wrt = [t for t in inputs if t.requires_grad] + trained(layer)
        eager_grads = fg.autograd.grad((expected * fg.tensor(upstream)).sum(), wrt,
                                       allow_unused=True)
    graph, out, value, grads = graph_run(layer, arrays, upstream)

    assert is_symbolic(out), "the layer did not build a node"
    static = out._data.shape
    assert len(static) == len(shape) and all(
        s is None or s == e for s, e in zip(static, shape, strict=True)), (
        f"static shape {static} does not fit the eager shape {shape}"
    )
    assert out._data.dtype == expected._data.dtype
    assert_same(value, expected._data, "output")
    names = [f"input {i}" for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    names += [f"parameter {name}" for name, p in layer.named_parameters() if p.requires_grad]
    like = [a for a in arrays if a.dtype.kind == "f"] + [p._data for p in trained(layer)]
    for name, got, want, array in zip(names, grads, eager_grads, like, strict=True):
        got = np.zeros_like(array) if got is None else got
        want = np.zeros_like(array) if want is None else want._data
        assert_same(got, want, f"gradient of {name}")
    # Every trainable parameter the layer used is a trainable variable of the graph that is
    # the parameter itself (its memory), not a copy.
    captured = {id(v.storage) for v in fg.trainable_variables(graph)}
    assert captured == {id(p) for p in trained(layer)}


def test_parameters_are_shared_not_copied() -> None:
    """A graph run reads the parameter's memory when it runs: an eager change made after the
    graph was built is what the next run sees."""
    layer = nn.Linear(3, 2)
    x = randn(4, 3)
    expected_before = layer(fg.tensor(x))._data
    with fg.Graph().as_default():
        placeholder = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        out = layer(placeholder)
        with fg.Session() as sess:
            before = sess.run(out, {placeholder: x})
            with fg.no_grad():
                layer.weight.mul_(2.0)
                layer.bias.add_(1.0)
            after = sess.run(out, {placeholder: x})
    assert_same(before, expected_before, "before the eager change")
    assert_same(after, layer(fg.tensor(x))._data, "after the eager change")
    assert not np.allclose(before, after)


def test_batch_norm_in_training_mode_uses_batch_statistics() -> None:
    """Training-mode batch norm in a graph normalises with each batch's own statistics, as
    eagerly (the gradient goes through them)."""
    fg.manual_seed(0)
    layer = nn.BatchNorm2d(3)
    x = randn(4, 3, 2, 2, scale=2.0) + 1.0
    upstream = randn(4, 3, 2, 2)
    eager = copy.deepcopy(layer)
    inputs = fg.tensor(x, requires_grad=True)
    expected = eager(inputs)
    expected_grads = fg.autograd.grad((expected * fg.tensor(upstream)).sum(),
                                      [inputs, *trained(eager)])
    _, out, value, grads = graph_run(layer, [x], upstream)
    assert out._data.shape == (None, 3, 2, 2)
    assert_same(value, expected._data, "output")
    for name, got, want in zip(["input", "weight", "bias"], grads, expected_grads, strict=True):
        assert_same(got, want._data, f"gradient of the {name}")


def test_batch_norm_in_training_mode_updates_running_statistics() -> None:
    """Each run of a training-mode batch norm's output updates the running statistics in
    place (the layer's own buffers), as each eager forward does."""
    layer = nn.BatchNorm1d(2)
    x = randn(5, 2) + 3.0
    with fg.Graph().as_default():
        placeholder = fg.placeholder(fg.float32, shape=(None, 2), name="x")
        out = layer(placeholder)
        with fg.Session() as sess:
            sess.run(out, {placeholder: x})
            sess.run(out, {placeholder: x})
    expected = nn.BatchNorm1d(2)
    for _ in range(2):
        expected(fg.tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(), expected.running_mean.numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(layer.running_var.numpy(), expected.running_var.numpy(),
                               rtol=1e-6)
    assert int(layer.num_batches_tracked) == 2


@pytest.mark.parametrize("make", [lambda: nn.Dropout(0.5), lambda: nn.Dropout2d(0.5),
                                  lambda: nn.AlphaDropout(0.5)],
                         ids=["Dropout", "Dropout2d", "AlphaDropout"])
def test_dropout_in_a_graph_draws_a_new_mask_every_run(make) -> None:
    """The mask is a node that draws when the graph runs: new each run, the same as eager
    for the same seed, for known and unknown batch sizes alike."""
    layer = make()
    data = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32) + 3
    fg.manual_seed(7)
    eager = [layer(fg.tensor(data)).numpy() for _ in range(2)]
    for shape in ((None, 2, 3, 3), (4, 2, 3, 3)):
        with fg.Graph().as_default():
            placeholder = fg.placeholder(fg.float32, shape=shape, name="x")
            out = layer(placeholder)
            (grad,) = fg.gradients(out.sum(), [placeholder])
            with fg.Session() as sess:
                fg.manual_seed(7)
                runs = [sess.run([out, grad], {placeholder: data}) for _ in range(2)]
        for (value, gradient), expected in zip(runs, eager, strict=True):
            np.testing.assert_allclose(value, expected, rtol=1e-6)
            if not isinstance(layer, nn.AlphaDropout):  # the gradient is the mask itself
                np.testing.assert_allclose(gradient * data, expected, rtol=1e-6)
        assert not np.array_equal(runs[0][0], runs[1][0])


def test_embedding_max_norm_is_refused_in_a_graph() -> None:
    layer = nn.Embedding(5, 2, max_norm=1.0)
    with fg.Graph().as_default():
        placeholder = fg.placeholder(fg.int64, shape=(None,), name="ids")
        with pytest.raises(fg.errors.GraphError, match="max_norm"):
            layer(placeholder)


def test_mlp_trained_in_a_graph_takes_the_eager_steps() -> None:
    """Adam.minimize on the loss of an MLP built on placeholders, run step by step in a
    Session, gives the losses and parameters of the same MLP trained eagerly with Adam."""
    fg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(),
                          nn.Linear(8, 3))
    eager_model = copy.deepcopy(model)
    data = np.random.default_rng(1)
    teacher = data.standard_normal((4, 3))
    features = [data.standard_normal((6, 4)).astype(np.float32) for _ in range(2)]
    batches = [(x, np.argmax(x @ teacher, axis=1)) for x in features * 3]  # 6 steps, 2 batches

    eager_optimizer = fg.optim.Adam(eager_model.parameters(), lr=1e-2)
    eager_losses = []
    eager_parameters = []
    for x, y in batches:
        eager_optimizer.zero_grad()
        loss = nn.functional.cross_entropy(eager_model(fg.tensor(x)), fg.tensor(y))
        loss.backward()
        eager_optimizer.step()
        eager_losses.append(loss.item())
        eager_parameters.append([p.detach().numpy().copy() for p in eager_model.parameters()])

    with fg.Graph().as_default():
        inputs = fg.placeholder(fg.float32, shape=(None, 4), name="x")
        labels = fg.placeholder(fg.int64, shape=(None,), name="y")
        loss = nn.functional.cross_entropy(model(inputs), labels)
        train = fg.optim.Adam(lr=1e-2).minimize(loss)
        assert {id(v.storage) for v in fg.trainable_variables()} == {
            id(p) for p in model.parameters()}
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            for step, (x, y) in enumerate(batches):
                value, _ = sess.run([loss, train], {inputs: x, labels: y})
                np.testing.assert_allclose(value, eager_losses[step], rtol=1e-5,
                                           err_msg=f"loss of step {step}")
                for i, p in enumerate(model.parameters()):
                    np.testing.assert_allclose(p.detach().numpy(), eager_parameters[step][i],
                                               rtol=1e-5, atol=1e-7,
                                               err_msg=f"parameter {i}, step {step}")
    assert eager_losses[-2] < eager_losses[0] and eager_losses[-1] < eager_losses[1]


def test_one_hot_of_a_graph_value_needs_num_classes() -> None:
    with fg.Graph().as_default():
        labels = fg.placeholder(fg.int64, shape=(None,), name="labels")
        encoded = F.one_hot(labels, 4)
        assert encoded.shape == (None, 4) and encoded.dtype == fg.int64
        with fg.Session() as sess:
            got = sess.run(encoded, {labels: np.array([3, 0, 1])})
        with pytest.raises(fg.errors.GraphError, match=r"one_hot: .*pass num_classes"):
            F.one_hot(labels)
    np.testing.assert_array_equal(got, np.eye(4, dtype=np.int64)[[3, 0, 1]])


def test_an_axis_of_a_value_of_unknown_rank_is_a_clear_error() -> None:
    with fg.Graph().as_default():
        anything = fg.placeholder(fg.float32, name="anything")
        with pytest.raises(fg.errors.ShapeError, match=r"softmax: dimension -1 of a graph "
                                                       r"value of unknown rank.*shape"):
            F.softmax(anything, dim=-1)
