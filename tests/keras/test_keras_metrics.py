"""flowgrad.keras.metrics: Keras 3's numbers over several weighted batches (NumPy formulas
always, tf.keras when installed), reset, lookup by name (``"accuracy"`` included), errors."""


import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError
from flowgrad.keras import losses, metrics

RNG = np.random.default_rng(1)
C = 5


def batches(kind: str, sizes=(7, 4, 9)):
    """Three batches of (y_true, y_pred, sample_weight) for one kind of problem."""
    out = []
    for size in sizes:
        weights = RNG.uniform(0.0, 2.0, size).astype(np.float32)
        if kind == "sparse":
            y_true = RNG.integers(0, C, size)
            y_pred = RNG.uniform(0, 1, (size, C)).astype(np.float32)
        elif kind == "categorical":
            y_true = np.eye(C, dtype=np.float32)[RNG.integers(0, C, size)]
            y_pred = RNG.uniform(0, 1, (size, C)).astype(np.float32)
        elif kind == "binary":
            y_true = RNG.integers(0, 2, (size, 1)).astype(np.float32)
            y_pred = RNG.uniform(0, 1, (size, 1)).astype(np.float32)
        elif kind == "multilabel":
            y_true = RNG.integers(0, 2, (size, 3)).astype(np.float32)
            y_pred = RNG.uniform(0, 1, (size, 3)).astype(np.float32)
        elif kind == "logits":
            y_true = RNG.integers(0, 2, (size, 1)).astype(np.float32)
            y_pred = RNG.standard_normal((size, 1)).astype(np.float32) * 3
        elif kind == "edges":  # scores at and beyond the ends, soft labels (nonzero: positive)
            y_true = RNG.choice([0.0, 0.3, 1.0], (size, 2)).astype(np.float32)
            y_pred = RNG.choice([0.0, 1.0, 0.5, -0.2, 1.3, 0.25, 0.7], (size, 2))
            y_pred = y_pred.astype(np.float32)
        elif kind == "regression":
            y_true = RNG.standard_normal((size, 3)).astype(np.float32)
            y_pred = RNG.standard_normal((size, 3)).astype(np.float32)
        else:  # exact: integer-valued predictions, some equal to the labels
            y_true = RNG.integers(0, 3, (size, 1)).astype(np.float32)
            y_pred = RNG.integers(0, 3, (size, 1)).astype(np.float32)
        out.append((y_true, y_pred, weights))
    return out



def weighted_mean(values_per_batch, weights_per_batch):
    values = np.concatenate(values_per_batch)
    weights = np.concatenate(weights_per_batch)
    return (values * weights).sum() / weights.sum()


def in_top_k(labels, scores, k):
    target = scores[np.arange(len(labels)), labels]
    return ((scores > target[:, None]).sum(-1) < k).astype(np.float64)


# (metric factory, kind, per-sample NumPy reference)
REFERENCES = {
    "accuracy": (metrics.Accuracy, "exact", lambda t, p: (t == p)[:, 0]),
    "binary_accuracy": (metrics.BinaryAccuracy, "binary", lambda t, p: (t == (p > 0.5))[:, 0]),
    "categorical_accuracy": (metrics.CategoricalAccuracy, "categorical",
                             lambda t, p: t.argmax(-1) == p.argmax(-1)),
    "sparse_categorical_accuracy": (metrics.SparseCategoricalAccuracy, "sparse",
                                    lambda t, p: t == p.argmax(-1)),
    "top_k": (lambda: metrics.TopKCategoricalAccuracy(k=2), "categorical",
              lambda t, p: in_top_k(t.argmax(-1), p, 2)),
    "sparse_top_k": (lambda: metrics.SparseTopKCategoricalAccuracy(k=3), "sparse",
                     lambda t, p: in_top_k(t, p, 3)),
    "mse": (metrics.MeanSquaredError, "regression", lambda t, p: ((t - p) ** 2).mean(-1)),
    "mae": (metrics.MeanAbsoluteError, "regression", lambda t, p: np.abs(t - p).mean(-1)),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_mean_metrics_over_weighted_batches_match_numpy_and_reset(name):
    factory, kind, reference = REFERENCES[name]
    metric = factory()
    data = batches(kind)
    for y_true, y_pred, weights in data:
        metric.update_state(fg.tensor(y_true), fg.tensor(y_pred), sample_weight=weights)
    expected = weighted_mean([reference(t, p) for t, p, _ in data], [w for _, _, w in data])
    assert isinstance(metric.result(), float)
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-6)
    metric.reset_state()
    assert metric.result() == 0.0
    y_true, y_pred, _ = data[0]
    metric.update_state(y_true, y_pred)  # unweighted, NumPy arrays
    np.testing.assert_allclose(metric.result(), reference(y_true, y_pred).mean(), rtol=1e-6)


def test_root_mean_squared_error_and_the_reductions():
    data = batches("regression")
    rmse = metrics.RootMeanSquaredError()
    for y_true, y_pred, weights in data:
        rmse.update_state(y_true, y_pred, weights)
    expected = weighted_mean([((t - p) ** 2).mean(-1) for t, p, _ in data], [w for *_, w in data])
    np.testing.assert_allclose(rmse.result(), np.sqrt(expected), rtol=1e-6)
    mean, total = metrics.Mean(), metrics.Sum()
    for values, weights in (([1.0, 3.0], [1.0, 0.0]), ([[2.0, 4.0]], [3.0]), (5.0, None)):
        mean.update_state(values, sample_weight=weights)
        total.update_state(values, sample_weight=weights)
    assert mean.result() == pytest.approx((1 + 3 * 3 + 5) / (1 + 3 + 1))
    assert total.result() == pytest.approx(1 + 3 * 6 + 5)


# (metric name in both libraries, constructor options, kind)
TF_CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}, "multilabel"),
    ("Precision", {"top_k": 2}, "categorical"),
    ("Precision", {"class_id": 1}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": 0.3, "class_id": 2}, "multilabel"),
    ("Recall", {"top_k": 1}, "categorical"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 7}, "multilabel"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "binary"),
    ("AUC", {"summation_method": "majoring"}, "binary"),
    ("AUC", {"multi_label": True}, "multilabel"),
    ("AUC", {"multi_label": True, "curve": "PR"}, "multilabel"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {"thresholds": [0.1, 0.4, 0.45, 0.8]}, "binary"),
    ("AUC", {}, "edges"),
    ("AUC", {"num_thresholds": 5, "curve": "PR"}, "edges"),
    ("AUC", {"multi_label": True, "num_thresholds": 9}, "edges"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "edges"),
    ("Recall", {}, "edges"),
]


@pytest.mark.parametrize(("name", "options", "kind"), TF_CASES,
                         ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o, _ in TF_CASES])
def test_metrics_match_tf_keras_over_weighted_batches(tf, name, options, kind):
    ours, theirs = getattr(metrics, name)(**options), getattr(tf.keras.metrics, name)(**options)
    data = batches(kind)
    for index, (y_true, y_pred, weights) in enumerate(data):
        weights = None if index == 1 else weights  # one unweighted batch among them
        ours.update_state(y_true, y_pred, sample_weight=weights)
        theirs.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=2e-6, atol=1e-7)
    ours.reset_state()
    theirs.reset_state()
    y_true, y_pred, _ = data[2]
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=2e-6, atol=1e-7)


def test_auc_against_an_exact_roc_area():
    # With thresholds between every pair of distinct scores, the trapezoids are exact.
    y_true = np.array([0, 0, 1, 1, 0, 1])
    y_pred = np.array([0.1, 0.4, 0.35, 0.8, 0.65, 0.9])
    auc = metrics.AUC(num_thresholds=1001)
    auc.update_state(y_true, y_pred)
    pairs = [(p, n) for p in y_pred[y_true == 1] for n in y_pred[y_true == 0]]
    expected = np.mean([1.0 if p > n else 0.0 for p, n in pairs])
    assert auc.result() == pytest.approx(expected, abs=1e-9)


def test_precision_and_recall_count_weighted_decisions():
    y_true = np.array([1, 0, 1, 1, 0])
    y_pred = np.array([0.9, 0.8, 0.3, 0.6, 0.1])
    weights = np.array([1.0, 2.0, 1.0, 0.5, 4.0])
    precision, recall = metrics.Precision(), metrics.Recall()
    precision.update_state(y_true, y_pred, weights)
    recall.update_state(y_true, y_pred, weights)
    assert precision.result() == pytest.approx(1.5 / 3.5)  # tp 1 + 0.5, fp 2
    assert recall.result() == pytest.approx(1.5 / 2.5)  # fn 1
    several = metrics.Precision(thresholds=[0.5, 0.85])
    several.update_state(y_true, y_pred)
    assert several.result() == pytest.approx([2 / 3, 1.0])


def test_get_by_name_and_class():
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert metrics.get("mae").name == "mae"  # a name given is the name logged, as in Keras
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert metrics.get(metrics.AUC).name == "auc"
    assert isinstance(metrics.get("top_k_categorical_accuracy"),
                      metrics.TopKCategoricalAccuracy)
    precision = metrics.Precision(thresholds=0.3, name="p")
    assert metrics.get(precision) is precision and metrics.get(None) is None
    restored = metrics.get({"class_name": "Precision", "config": precision.get_config()})
    assert restored.get_config() == precision.get_config()
    auc = metrics.AUC(curve="pr", num_thresholds=50, multi_label=True)
    assert metrics.AUC.from_config(auc.get_config()).get_config() == auc.get_config()
    assert metrics.BinaryAccuracy.from_config(
        metrics.BinaryAccuracy(threshold=0.2).get_config()).fn_kwargs == {"threshold": 0.2}
    crossentropy = metrics.get("sparse_categorical_crossentropy")
    y_true, y_pred, _ = batches("sparse")[0]
    crossentropy.update_state(y_true, y_pred)
    expected = losses.SparseCategoricalCrossentropy()(y_true, y_pred).item()
    assert crossentropy.result() == pytest.approx(expected, rel=1e-5)
    wrapped = metrics.get(lambda t, p: np.abs(np.asarray(t) - np.asarray(p)))
    wrapped.update_state([1.0, 2.0], [2.0, 4.0])
    assert wrapped.result() == 1.5


@pytest.mark.parametrize(("loss", "expected"), [
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.CategoricalCrossentropy(from_logits=True), metrics.CategoricalAccuracy),
    ("binary_crossentropy", metrics.BinaryAccuracy),
])
def test_accuracy_resolves_by_the_loss(loss, expected):
    metric = metrics.get("accuracy", loss=loss, output_shape=(None, 1), target_shape=(None, 1))
    assert type(metric) is expected and metric.name == "accuracy"


def test_binary_accuracy_on_logits_thresholds_at_zero():
    metric = metrics.get("acc", loss=losses.BinaryCrossentropy(from_logits=True))
    metric.update_state([[1.0], [0.0], [1.0]], [[0.3], [-0.2], [-0.1]])
    assert metric.name == "acc" and metric.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize(("target_shape", "output_shape", "expected"), [
    ((None,), (None, 5), metrics.SparseCategoricalAccuracy),
    ((None, 1), (None, 5), metrics.SparseCategoricalAccuracy),
    ((None, 5), (None, 5), metrics.CategoricalAccuracy),
    ((None, 1), (None, 1), metrics.BinaryAccuracy),
    ((None,), (None, 1), metrics.BinaryAccuracy),
])
def test_accuracy_resolves_by_shapes_as_keras(target_shape, output_shape, expected):
    metric = metrics.get("accuracy", loss="mse", output_shape=output_shape,
                         target_shape=target_shape)
    assert type(metric) is expected
    lazy = metrics.get("accuracy")  # shapes unknown: the first batch decides
    y_true = np.zeros([2 if d is None else d for d in target_shape])
    y_pred = np.full([2 if d is None else d for d in output_shape], 0.4)
    lazy.update_state(y_true, y_pred)
    assert type(lazy.metric) is expected and lazy.result() == 1.0
    lazy.reset_state()
    assert lazy.result() == 0.0


def test_unknown_names_and_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*accuracy.*auc"):
        metrics.get("acuracy")
    with pytest.raises(ValueError, match="Unknown metric class 'Nope'"):
        metrics.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="Could not interpret a metric"):
        metrics.get(1)
    with pytest.raises(ShapeError, match=r"Precision: y_true of shape \(3, 2\) and y_pred of "
                                         r"shape \(3, 4\)"):
        metrics.Precision().update_state(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ShapeError, match="sample_weight of shape"):
        metrics.Mean().update_state(np.ones(3), sample_weight=np.ones(4))
    with pytest.raises(ShapeError, match="multi_label=True"):
        metrics.AUC(multi_label=True).update_state(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="curve must be 'ROC' or 'PR'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match=r"thresholds must be in \[0, 1\]"):
        metrics.Recall(thresholds=[0.5, 1.5])
