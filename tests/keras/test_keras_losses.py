"""flowgrad.keras.losses: Keras 3's numbers (NumPy formulas always, tf.keras when installed),
gradients, compiled == eager, lookup by name, and the errors."""


import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import DTypeError, ShapeError
from flowgrad.keras import losses

RNG = np.random.default_rng(0)
N, C = 6, 4
EPS = 1e-7
LOGITS = RNG.standard_normal((N, C)).astype(np.float32)
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype(np.float32)
LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype=np.float32)[LABELS]
BINARY = RNG.integers(0, 2, (N, C)).astype(np.float32)
SIGMOID = (1 / (1 + np.exp(-LOGITS))).astype(np.float32)
TARGETS = RNG.standard_normal((N, C)).astype(np.float32)
WEIGHTS = RNG.uniform(0.0, 2.0, N).astype(np.float32)
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]



# -- NumPy references of Keras's formulas ------------------------------------------------------


def log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def bce_reference(t, p, from_logits):
    if from_logits:
        return (np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))).mean(-1)
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def cce_reference(t, p, from_logits):
    if from_logits:
        return -(t * log_softmax(p)).sum(-1)
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def sce_reference(labels, p, from_logits):
    scores = p if from_logits else np.log(np.clip(p, EPS, 1 - EPS))
    return -log_softmax(scores)[np.arange(len(labels)), labels]


def reduce_reference(values, weights, reduction):
    if weights is not None:
        values = values * weights
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return values.sum() / weights.sum()
    return values.sum() / values.size


# (loss class, options, y_true, y_pred, per-sample reference)
CASES = {
    "mse": (losses.MeanSquaredError, {}, TARGETS, LOGITS,
            lambda t, p: ((t - p) ** 2).mean(-1)),
    "mae": (losses.MeanAbsoluteError, {}, TARGETS, LOGITS, lambda t, p: np.abs(t - p).mean(-1)),
    "bce": (losses.BinaryCrossentropy, {}, BINARY, SIGMOID,
            lambda t, p: bce_reference(t, p, False)),
    "bce_logits": (losses.BinaryCrossentropy, {"from_logits": True}, BINARY, LOGITS,
                   lambda t, p: bce_reference(t, p, True)),
    "cce": (losses.CategoricalCrossentropy, {}, ONE_HOT, PROBS,
            lambda t, p: cce_reference(t, p, False)),
    "cce_logits": (losses.CategoricalCrossentropy, {"from_logits": True}, ONE_HOT, LOGITS,
                   lambda t, p: cce_reference(t, p, True)),
    "sce": (losses.SparseCategoricalCrossentropy, {}, LABELS, PROBS,
            lambda t, p: sce_reference(t, p, False)),
    "sce_logits": (losses.SparseCategoricalCrossentropy, {"from_logits": True}, LABELS, LOGITS,
                   lambda t, p: sce_reference(t, p, True)),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_each_loss_and_reduction_matches_the_numpy_formula(case, reduction, weighted):
    cls, options, y_true, y_pred, reference = CASES[case]
    weights = WEIGHTS if weighted else None
    got = cls(reduction=reduction, **options)(y_true, y_pred, sample_weight=weights)
    expected = reduce_reference(reference(y_true, y_pred), weights, reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weights", [None, WEIGHTS, WEIGHTS[:, None], 0.5],
                         ids=["none", "per_sample", "column", "scalar"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_each_loss_matches_tf_keras(tf, case, reduction, weights):
    cls, options, y_true, y_pred, _ = CASES[case]
    expected = getattr(tf.keras.losses, cls.__name__)(reduction=reduction, **options)(
        y_true, y_pred, sample_weight=weights)
    got = cls(reduction=reduction, **options)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cls", "options", "y_true", "y_pred"), [
    (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, BINARY, SIGMOID),
    (losses.BinaryCrossentropy, {"label_smoothing": 0.1, "from_logits": True}, BINARY, LOGITS),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.3}, ONE_HOT, PROBS),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.1, "from_logits": True}, ONE_HOT,
     LOGITS),
    (losses.SparseCategoricalCrossentropy, {"ignore_class": 2}, LABELS, PROBS),
    (losses.SparseCategoricalCrossentropy, {"ignore_class": -1, "from_logits": True},
     np.where(LABELS == 1, -1, LABELS), LOGITS),
    (losses.SparseCategoricalCrossentropy, {}, LABELS[:, None].astype(np.float32), PROBS),
    (losses.BinaryCrossentropy, {}, BINARY[:, 0], SIGMOID[:, :1]),  # (N,) labels, (N, 1)
    (losses.MeanSquaredError, {}, TARGETS[:, :1], LOGITS[:, 0]),  # (N, 1) labels, (N,)
    (losses.CategoricalCrossentropy, {"axis": 0}, ONE_HOT, PROBS),
    (losses.BinaryCrossentropy, {}, BINARY, np.clip(SIGMOID * 3 - 1, 0, 1)),  # clipping
], ids=["bce_smooth", "bce_logits_smooth", "cce_smooth", "cce_logits_smooth", "sce_ignore",
        "sce_ignore_negative", "sce_float_column_labels", "bce_rank_1_labels",
        "mse_column_labels", "cce_axis_0", "bce_clipped"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_options_and_label_shapes_match_tf_keras(tf, cls, options, y_true, y_pred, reduction):
    for weights in (None, WEIGHTS) if options.get("axis", -1) == -1 else (None,):
        expected = getattr(tf.keras.losses, cls.__name__)(reduction=reduction, **options)(
            y_true, y_pred, sample_weight=weights)
        got = cls(reduction=reduction, **options)(y_true, y_pred, sample_weight=weights)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_ignore_class_averages_over_the_kept_labels():
    labels = np.array([0, 2, 1, 2])
    probs = PROBS[:4]
    got = losses.SparseCategoricalCrossentropy(ignore_class=2)(labels, probs)
    kept = sce_reference(labels, probs, False)[[0, 2]]
    np.testing.assert_allclose(got.numpy(), kept.mean(), rtol=1e-6)
    everything_ignored = losses.SparseCategoricalCrossentropy(ignore_class=2)([2, 2], probs[:2])
    assert everything_ignored.item() == 0.0


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_finite_differences(case):
    cls, options, y_true, y_pred, _ = CASES[case]
    loss = cls(**options)
    if "logits" not in case and case not in ("mse", "mae"):
        y_pred = np.clip(y_pred, 0.05, 0.95)  # away from the clipping, where it is smooth
    point = y_pred.astype(np.float64)
    x = fg.tensor(point, requires_grad=True)
    loss(y_true, x, sample_weight=WEIGHTS).backward()

    def value(array):
        return loss(y_true, fg.tensor(array), sample_weight=WEIGHTS).item()

    numeric = np.zeros_like(point)
    step = 1e-6
    for index in np.ndindex(point.shape):
        shifted = point.copy()
        shifted[index] += step
        up = value(shifted)
        shifted[index] -= 2 * step
        numeric[index] = (up - value(shifted)) / (2 * step)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_tf_gradient_tape(tf, case):
    cls, options, y_true, y_pred, _ = CASES[case]
    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = getattr(tf.keras.losses, cls.__name__)(**options)(y_true, variable, WEIGHTS)
    x = fg.tensor(y_pred.copy(), requires_grad=True)
    cls(**options)(y_true, x, WEIGHTS).backward()
    np.testing.assert_allclose(x.grad.numpy(), tape.gradient(value, variable).numpy(),
                               rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("case", ["mse", "bce", "cce_logits", "sce", "sce_logits"])
def test_a_compiled_loss_gives_the_eager_numbers(case):
    cls, options, y_true, y_pred, _ = CASES[case]
    loss = cls(**options)
    weights = fg.tensor(WEIGHTS)

    def value_and_grad(target, prediction, weight):
        prediction = prediction.detach().requires_grad_()
        result = loss(target, prediction, sample_weight=weight)
        result.backward()
        return result, prediction.grad

    compiled = fg.compile(value_and_grad)
    target, prediction = fg.tensor(y_true), fg.tensor(y_pred)
    eager = value_and_grad(target, prediction, weights)
    for _ in range(3):  # eager first call, then traced, then replayed
        got = compiled(target, prediction, weights)
    for a, b in zip(got, eager, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)


def test_get_serialize_and_configs():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MAE"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("SparseCategoricalCrossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get(losses.BinaryCrossentropy), losses.BinaryCrossentropy)
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1,
                                          reduction="sum", name="cce")
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    restored = losses.deserialize(losses.serialize(loss))
    assert type(restored) is losses.CategoricalCrossentropy
    assert restored.get_config() == loss.get_config() == {
        "name": "cce", "reduction": "sum", "from_logits": True, "label_smoothing": 0.1,
        "axis": -1}
    assert losses.get(losses.serialize(loss)).get_config() == loss.get_config()
    sce = losses.SparseCategoricalCrossentropy.from_config(
        losses.SparseCategoricalCrossentropy(ignore_class=0).get_config())
    assert sce.ignore_class == 0 and sce.name == "sparse_categorical_crossentropy"


def test_a_function_is_wrapped_and_reduced_like_a_loss():
    def squared(y_true, y_pred):
        return (y_true - y_pred).square().sum(-1)

    loss = losses.get(squared)
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.name == "squared"
    got = loss(TARGETS, LOGITS, sample_weight=WEIGHTS)
    expected = (((TARGETS - LOGITS) ** 2).sum(-1) * WEIGHTS).mean()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    config = losses.serialize(loss)
    with pytest.raises(ValueError, match="custom_objects"):
        losses.deserialize(config)
    restored = losses.deserialize(config, custom_objects={"squared": squared})
    assert restored.fn is squared


def test_unknown_names_and_bad_options_raise():
    with pytest.raises(ValueError, match=r"Unknown loss 'msee'.*mse.*sparse_categorical"):
        losses.get("msee")
    with pytest.raises(TypeError, match="Could not interpret a loss"):
        losses.get(3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing must be between 0 and 1"):
        losses.BinaryCrossentropy(label_smoothing=1.5)


def test_label_errors_name_the_loss_the_classes_and_the_range():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(IndexError, match=r"SparseCategoricalCrossentropy: y_true holds label 4, "
                                         r"out of range for 4 classes .*\(6, 4\).*\[0, 3\]"):
        loss(np.concatenate([[4], LABELS[1:]]), LOGITS)
    with pytest.raises(IndexError, match=r"label -1.*\[0, 3\] or ignore_class=2"):
        losses.SparseCategoricalCrossentropy(ignore_class=2)(np.full(N, -1), PROBS)
    with pytest.raises(ValueError, match=r"holds 1\.5, which is not a class label"):
        loss(np.full(N, 1.5), LOGITS)
    with pytest.raises(DTypeError, match="integer class labels"):
        loss(np.full(N, True), LOGITS)
    with pytest.raises(ShapeError, match=r"needs integer labels of shape \(6,\).*got y_true "
                                         r"of shape \(6, 4\)"):
        loss(ONE_HOT, LOGITS)  # one-hot labels: CategoricalCrossentropy's job


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.BinaryCrossentropy(),
                                  losses.CategoricalCrossentropy(),
                                  losses.SparseCategoricalCrossentropy()],
                         ids=lambda loss: type(loss).__name__)
def test_batch_size_mismatches_name_the_loss_and_both_shapes(loss):
    y_true = LABELS[:4] if isinstance(loss, losses.SparseCategoricalCrossentropy) else PROBS[:4]
    with pytest.raises(ShapeError, match=rf"{type(loss).__name__}: y_true holds 4 samples "
                                         rf"\(shape \(4,?.*\)\) but y_pred holds 6 "
                                         rf"\(shape \(6, 4\)\)"):
        loss(y_true, PROBS)
    with pytest.raises(ShapeError, match="sample_weight holds 3 samples"):
        loss(y_true[:N] if len(y_true) == N else LABELS if y_true.ndim == 1 else PROBS,
             PROBS, sample_weight=np.ones(3))


def test_shape_mismatches_say_what_was_expected():
    with pytest.raises(ShapeError, match=r"MeanSquaredError: y_true of shape \(6, 3\) and "
                                         r"y_pred of shape \(6, 4\) must have the same shape"):
        losses.MeanSquaredError()(TARGETS[:, :3], LOGITS)
    with pytest.raises(ShapeError, match="y_pred must have a batch dimension"):
        losses.MeanSquaredError()(1.0, 2.0)
    with pytest.raises(ShapeError, match=r"sample_weight of shape \(6, 3\) does not broadcast"):
        losses.MeanSquaredError(reduction="sum")(TARGETS, LOGITS, np.ones((N, 3)))


def test_sparse_crossentropy_runs_on_the_fused_kernel_and_any_batch_size():
    logits = fg.tensor(LOGITS, requires_grad=True)
    for from_logits in (True, False):
        loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        assert loss(LABELS, logits).grad_fn.name() == "SoftmaxCrossEntropyBackward"
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    compiled = fg.compile(lambda y, p, w: loss(y, p, sample_weight=w), dynamic_batch=True)
    for size in (6, 6, 3, 5):  # traced once, for every batch size
        args = (LABELS[:size], LOGITS[:size], WEIGHTS[:size])
        got = compiled(*(fg.tensor(a) for a in args))
        np.testing.assert_allclose(got.numpy(), loss(*args).numpy(), rtol=1e-6)
