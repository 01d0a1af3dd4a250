"""The losses of ``fg.nn.functional`` and ``fg.nn``: against PyTorch (forward and gradients,
float32) for every option and reduction; against NumPy formulas and finite differences
(float64) without PyTorch; second-order gradients; the loss layers; and the errors."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest

# The one op-test helper of tests/ops (on pytest's pythonpath, see pyproject.toml) checks
# every row: forward, gradients, shape rules, torch.
from optest import (
    Case,
    Inputs,
    case,
    check_against_torch,
    check_case,
    check_second_order,
    recording_binds,
)

import flowgrad as fg
from flowgrad.errors import DTypeError, ShapeError

F = fg.nn.functional
FILE = os.path.basename(__file__)
REDUCTIONS = ("mean", "sum", "none")
gen = Inputs(seed=3)


def f32(*arrays) -> tuple[np.ndarray, ...]:
    """Floating-point arrays as float32; integer ones (class indices) as they are."""
    return tuple(np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f"
                 else np.asarray(a) for a in arrays)


def softmax_rows(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def with_ignored(target: np.ndarray, value: int, every: int = 3) -> np.ndarray:
    """``target`` with every ``every``-th entry (the first included) set to ``value``."""
    marked = target.copy().reshape(-1)
    marked[::every] = value
    return marked.reshape(target.shape)


# -- NumPy references ---------------------------------------------------------------------------


def reduce_ref(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.mean())
    if reduction == "sum":
        return np.asarray(loss.sum())
    return loss


def log_softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


def nll_ref(log_probs, target, weight=None, ignore_index=-100, reduction="mean",
            label_smoothing=0.0) -> np.ndarray:
    """PyTorch's nll_loss (with cross_entropy's label smoothing) written out in NumPy."""
    class_dim = 0 if log_probs.ndim == 1 else 1
    by_class = np.moveaxis(log_probs, class_dim, -1)  # (..., C)
    classes = by_class.shape[-1]
    weight = np.ones(classes) if weight is None else weight
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(by_class, safe[..., None], -1)[..., 0]
    smooth = -(by_class * weight).sum(-1)
    loss = (1 - label_smoothing) * -weight[safe] * picked + label_smoothing / classes * smooth
    loss = np.where(keep, loss, 0.0)
    if reduction == "mean":
        return np.asarray(loss.sum() / np.where(keep, weight[safe], 0.0).sum())
    return reduce_ref(loss, reduction)


def cross_entropy_ref(x, target, weight=None, ignore_index=-100, reduction="mean",
                      label_smoothing=0.0) -> np.ndarray:
    class_dim = 0 if x.ndim == 1 else 1
    log_probs = log_softmax_ref(x, class_dim)
    if target.dtype.kind in "iu":
        return nll_ref(log_probs, target, weight, ignore_index, reduction, label_smoothing)
    classes = x.shape[class_dim]
    target = target * (1 - label_smoothing) + label_smoothing / classes
    shape = [1] * x.ndim
    shape[class_dim] = classes
    weight = np.ones(classes) if weight is None else weight
    loss = -(log_probs * target * weight.reshape(shape)).sum(class_dim)
    return reduce_ref(loss, reduction)


def bce_with_logits_ref(x, t, weight=None, pos_weight=None, reduction="mean") -> np.ndarray:
    log_sigmoid, log_one_minus = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)
    pos_weight = 1.0 if pos_weight is None else pos_weight
    loss = -(pos_weight * t * log_sigmoid + (1 - t) * log_one_minus)
    return reduce_ref(loss if weight is None else loss * weight, reduction)


def bce_ref(x, t, weight=None, reduction="mean") -> np.ndarray:
    loss = -(t * np.log(x) + (1 - t) * np.log(1 - x))
    return reduce_ref(loss if weight is None else loss * weight, reduction)


def kl_div_ref(x, t, reduction="mean", log_target=False) -> np.ndarray:
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0) - t * x
    if reduction == "batchmean":
        return np.asarray(loss.sum() / x.shape[0])
    return reduce_ref(loss, reduction)


def smooth_l1_ref(x, t, beta, reduction="mean") -> np.ndarray:
    d = np.abs(x - t)
    return reduce_ref(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def huber_ref(x, t, delta, reduction="mean") -> np.ndarray:
    d = np.abs(x - t)
    return reduce_ref(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


# -- cases: flowgrad against NumPy and finite differences (float64) -----------------------------

KINKS = (-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5)  # |d| = beta or delta, and d = 0


def regression_pair(*shape) -> tuple[np.ndarray, np.ndarray]:
    """``(input, target)`` whose difference keeps away from the kinks of l1/smooth_l1/huber."""
    target = gen.randn(*shape)
    return target + gen.avoiding(*shape, points=KINKS, gap=0.05, low=-4, high=4), target


def numpy_cases() -> list[Case]:
    cases = []
    add = cases.append
    x, t = regression_pair(3, 4)
    weight = gen.positive(3, 4)
    logits = gen.randn(5, 4)
    logits_4d = gen.randn(2, 3, 2, 2)
    labels = gen.ints(0, 4, 5)
    labels_4d = gen.ints(0, 3, 2, 2, 2)
    class_weight = gen.positive(4)
    probs = softmax_rows(gen.randn(5, 4), 1)
    scores, binary = gen.randn(3, 4, scale=3), (gen.uniform(0, 1, 3, 4) > 0.5) * 1.0
    for r in REDUCTIONS:
        add(case(f"mse-{r}", lambda m, x, t, r=r: m.nn.functional.mse_loss(x, t, reduction=r),
                 lambda x, t, r=r: reduce_ref((x - t) ** 2, r), x, t))
        add(case(f"l1-{r}", lambda m, x, t, r=r: m.nn.functional.l1_loss(x, t, reduction=r),
                 lambda x, t, r=r: reduce_ref(np.abs(x - t), r), x, t))
        add(case(f"smooth_l1-{r}",
                 lambda m, x, t, r=r: m.nn.functional.smooth_l1_loss(x, t, reduction=r,
                                                                     beta=0.5),
                 lambda x, t, r=r: smooth_l1_ref(x, t, 0.5, r), x, t))
        add(case(f"huber-{r}",
                 lambda m, x, t, r=r: m.nn.functional.huber_loss(x, t, reduction=r, delta=2.5),
                 lambda x, t, r=r: huber_ref(x, t, 2.5, r), x, t))
        add(case(f"ce-{r}",
                 lambda m, x, t, r=r: m.nn.functional.cross_entropy(x, t, reduction=r),
                 lambda x, t, r=r: cross_entropy_ref(x, t, reduction=r), logits, labels))
        add(case(f"ce-weight-ignore-smooth-{r}",
                 lambda m, x, t, r=r: m.nn.functional.cross_entropy(
                     x, t, weight=m.tensor(class_weight), ignore_index=-100, reduction=r,
                     label_smoothing=0.2),
                 lambda x, t, r=r: cross_entropy_ref(x, t, class_weight, -100, r, 0.2),
                 logits, with_ignored(labels, -100)))
        add(case(f"ce-4d-ignore-{r}",
                 lambda m, x, t, r=r: m.nn.functional.cross_entropy(x, t, ignore_index=1,
                                                                    reduction=r),
                 lambda x, t, r=r: cross_entropy_ref(x, t, ignore_index=1, reduction=r),
                 logits_4d, labels_4d))
        add(case(f"ce-probs-weight-smooth-{r}",
                 lambda m, x, t, r=r: m.nn.functional.cross_entropy(
                     x, t, weight=m.tensor(class_weight), reduction=r, label_smoothing=0.1),
                 lambda x, t, r=r: cross_entropy_ref(x, t, class_weight, reduction=r,
                                                     label_smoothing=0.1),
                 logits, probs))
        add(case(f"nll-weight-{r}",
                 lambda m, x, t, r=r: m.nn.functional.nll_loss(x, t, weight=m.tensor(
                     class_weight), reduction=r),
                 lambda x, t, r=r: nll_ref(x, t, class_weight, reduction=r),
                 log_softmax_ref(logits, 1), labels))
        add(case(f"bce_logits-{r}",
                 lambda m, x, t, r=r: m.nn.functional.binary_cross_entropy_with_logits(
                     x, t, reduction=r),
                 lambda x, t, r=r: bce_with_logits_ref(x, t, reduction=r), scores, binary))
        add(case(f"bce_logits-weights-{r}",
                 lambda m, x, t, r=r: m.nn.functional.binary_cross_entropy_with_logits(
                     x, t, weight=m.tensor(weight), reduction=r,
                     pos_weight=m.tensor(class_weight)),
                 lambda x, t, r=r: bce_with_logits_ref(x, t, weight, class_weight, r),
                 scores, gen.uniform(0, 1, 3, 4)))
        add(case(f"bce-{r}",
                 lambda m, x, t, r=r: m.nn.functional.binary_cross_entropy(
                     x, t, weight=m.tensor(class_weight), reduction=r),
                 lambda x, t, r=r: bce_ref(x, t, class_weight, r),
                 gen.uniform(0.05, 0.95, 3, 4), gen.uniform(0, 1, 3, 4)))
    for r in (*REDUCTIONS, "batchmean"):
        add(case(f"kl_div-{r}",
                 lambda m, x, t, r=r: m.nn.functional.kl_div(x, t, reduction=r),
                 lambda x, t, r=r: kl_div_ref(x, t, r), log_softmax_ref(logits, 1), probs))
    add(case("kl_div-log_target",
             lambda m, x, t: m.nn.functional.kl_div(x, t, reduction="sum", log_target=True),
             lambda x, t: kl_div_ref(x, t, "sum", log_target=True),
             log_softmax_ref(logits, 1), np.log(probs)))
    add(case("mse-weight",
             lambda m, x, t: m.nn.functional.mse_loss(x, t, weight=m.tensor(weight)),
             lambda x, t: np.asarray(((x - t) ** 2 * weight).sum() / weight.sum()), x, t))
    add(case("ce-unbatched",
             lambda m, x, t: m.nn.functional.cross_entropy(x, t, label_smoothing=0.3),
             lambda x, t: cross_entropy_ref(x, t, label_smoothing=0.3),
             gen.randn(4), np.array(2)))
    return cases


NUMPY_CASES = numpy_cases()


@pytest.mark.parametrize("case", NUMPY_CASES, ids=[c.name for c in NUMPY_CASES])
def test_loss_against_numpy(case: Case) -> None:
    """Forward vs the NumPy formula, gradients of every float input vs finite differences."""
    check_case(case)


SECOND_ORDER = [
    case("2nd-ce-weight-ignore-smooth",
         lambda m, x, t: m.nn.functional.cross_entropy(
             x, t, weight=m.tensor(np.array([0.5, 1.0, 2.0, 1.5])), label_smoothing=0.1),
         None, gen.randn(5, 4), with_ignored(gen.ints(0, 4, 5), -100)),
    case("2nd-ce", lambda m, x, t: m.nn.functional.cross_entropy(x, t),
         None, gen.randn(5, 4), gen.ints(0, 4, 5)),
    case("2nd-ce-ignore", lambda m, x, t: m.nn.functional.cross_entropy(x, t, ignore_index=2),
         None, gen.randn(6, 4), gen.ints(0, 4, 6)),
    case("2nd-ce-4d", lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="sum"),
         None, gen.randn(2, 3, 2, 2), gen.ints(0, 3, 2, 2, 2)),
    case("2nd-ce-probs", lambda m, x, t: m.nn.functional.cross_entropy(x, t),
         None, gen.randn(3, 4), softmax_rows(gen.randn(3, 4), 1)),
    case("2nd-bce_logits",
         lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(
             x, t, pos_weight=m.tensor(np.array([2.0, 0.5, 1.0]))),
         None, gen.randn(4, 3, scale=3), gen.uniform(0, 1, 4, 3)),
]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
def test_second_order(case: Case) -> None:
    check_second_order(case)


# -- cases: flowgrad against PyTorch (float32) --------------------------------------------------


def torch_cases() -> list[Case]:
    cases = []
    add = cases.append

    def loss_case(name, loss, *inputs, **options):
        """``loss(functional, *tensors)`` with ``functional`` the library's
        ``nn.functional``."""
        add(case(name, lambda m, *ts: loss(m.nn.functional, m, *ts), None, *f32(*inputs),
                 **options))

    x, t = regression_pair(3, 4)
    elementwise_weight = gen.positive(3, 4).astype(np.float32)
    class_weight = gen.positive(4).astype(np.float32)
    logits, labels = gen.randn(6, 4), gen.ints(0, 4, 6)
    logits_4d, labels_4d = gen.randn(2, 4, 3, 2), gen.ints(0, 4, 2, 3, 2)
    probs = softmax_rows(gen.randn(6, 4), 1)
    probs_4d = softmax_rows(gen.randn(2, 4, 3, 2), 1)
    # Logits at exactly 0 (where a naive softplus loses half the gradient) and far out.
    scores = np.concatenate([gen.randn(3, 4, scale=3), [[0.0, 30.0, -30.0, 0.0]]])
    soft_labels = gen.uniform(0, 1, 4, 4)

    def W(m):  # the class weights, a constant of the library under test
        return m.tensor(class_weight)

    for r in REDUCTIONS:
        loss_case(f"mse-{r}", lambda F, m, x, t, r=r: F.mse_loss(x, t, reduction=r), x, t)
        loss_case(f"mse-weight-{r}", lambda F, m, x, t, r=r: F.mse_loss(
            x, t, reduction=r, weight=m.tensor(elementwise_weight)), x, t)
        loss_case(f"l1-{r}", lambda F, m, x, t, r=r: F.l1_loss(x, t, reduction=r), x, t)
        loss_case(f"l1-weight-{r}", lambda F, m, x, t, r=r: F.l1_loss(
            x, t, reduction=r, weight=m.tensor(elementwise_weight)), x, t)
        for beta in (1.0, 0.5, 0.0):
            loss_case(f"smooth_l1-beta{beta}-{r}", lambda F, m, x, t, r=r, b=beta:
                      F.smooth_l1_loss(x, t, reduction=r, beta=b), x, t)
        for delta in (1.0, 2.5):
            loss_case(f"huber-delta{delta}-{r}", lambda F, m, x, t, r=r, d=delta:
                      F.huber_loss(x, t, reduction=r, delta=d), x, t)
        loss_case(f"huber-weight-{r}", lambda F, m, x, t, r=r: F.huber_loss(
            x, t, reduction=r, weight=m.tensor(elementwise_weight)), x, t)
        loss_case(f"bce-{r}", lambda F, m, x, t, r=r: F.binary_cross_entropy(x, t, reduction=r),
                  gen.uniform(0.05, 0.95, 3, 4), gen.uniform(0, 1, 3, 4))
        loss_case(f"bce-weight-{r}", lambda F, m, x, t, r=r: F.binary_cross_entropy(
            x, t, weight=W(m), reduction=r), gen.uniform(0.05, 0.95, 3, 4),
            gen.uniform(0, 1, 3, 4))
        loss_case(f"bce_logits-{r}", lambda F, m, x, t, r=r:
                  F.binary_cross_entropy_with_logits(x, t, reduction=r), scores, soft_labels)
        loss_case(f"bce_logits-weight-pos_weight-{r}", lambda F, m, x, t, r=r:
                  F.binary_cross_entropy_with_logits(x, t, weight=W(m), reduction=r,
                                                     pos_weight=m.tensor(class_weight[::-1].copy())),
                  scores, soft_labels)
        loss_case(f"bce_logits-pos_weight-{r}", lambda F, m, x, t, r=r:
                  F.binary_cross_entropy_with_logits(x, t, reduction=r, pos_weight=W(m)),
                  scores, soft_labels)

        # nll_loss and cross_entropy with class indices: every option, 1-D, 2-D and 4-D input.
        index_variants = {
            "2d": (logits, labels, {}),
            "4d": (logits_4d, labels_4d, {}),
            "1d": (logits[0], np.array(3), {}),
            "weight": (logits, labels, {"weight": True}),
            "ignore": (logits, with_ignored(labels, -100), {}),
            "ignore_index1": (logits_4d, labels_4d, {"ignore_index": 1}),
            "weight-ignore": (logits, with_ignored(labels, 2, every=2),
                              {"weight": True, "ignore_index": 2}),
            "weight-4d": (logits_4d, with_ignored(labels_4d, -100, every=4), {"weight": True}),
        }
        for variant, (scores_, target, options) in index_variants.items():
            def kwargs(m, options=options):
                made = dict(options)
                if made.pop("weight", False):
                    made["weight"] = m.tensor(class_weight)
                return made

            loss_case(f"nll-{variant}-{r}", lambda F, m, x, t, r=r, kw=kwargs:
                      F.nll_loss(F.log_softmax(x, 0 if x.ndim == 1 else 1), t, reduction=r,
                                 **kw(m)), scores_, target)
            loss_case(f"ce-{variant}-{r}", lambda F, m, x, t, r=r, kw=kwargs:
                      F.cross_entropy(x, t, reduction=r, **kw(m)), scores_, target)
            loss_case(f"ce-smooth-{variant}-{r}", lambda F, m, x, t, r=r, kw=kwargs:
                      F.cross_entropy(x, t, reduction=r, label_smoothing=0.15, **kw(m)),
                      scores_, target)

        # cross_entropy with class probabilities.
        loss_case(f"ce-probs-{r}", lambda F, m, x, t, r=r: F.cross_entropy(x, t, reduction=r),
                  logits, probs)
        loss_case(f"ce-probs-4d-{r}", lambda F, m, x, t, r=r:
                  F.cross_entropy(x, t, reduction=r), logits_4d, probs_4d)
        loss_case(f"ce-probs-weight-smooth-{r}", lambda F, m, x, t, r=r:
                  F.cross_entropy(x, t, weight=W(m), reduction=r, label_smoothing=0.2),
                  logits, probs)
        loss_case(f"ce-probs-1d-{r}", lambda F, m, x, t, r=r:
                  F.cross_entropy(x, t, reduction=r), logits[0], probs[0])

    for r in (*REDUCTIONS, "batchmean"):
        loss_case(f"kl_div-{r}", lambda F, m, x, t, r=r: F.kl_div(x, t, reduction=r),
                  log_softmax_ref(logits, 1), probs)
        loss_case(f"kl_div-log_target-{r}", lambda F, m, x, t, r=r:
                  F.kl_div(x, t, reduction=r, log_target=True),
                  log_softmax_ref(logits, 1), np.log(probs))
    for dim in (1, -1, 0):
        loss_case(f"cosine_similarity-dim{dim}", lambda F, m, a, b, d=dim:
                  F.cosine_similarity(a, b, dim=d), gen.randn(3, 4), gen.randn(3, 4))
    loss_case("cosine_similarity-broadcast", lambda F, m, a, b: F.cosine_similarity(a, b),
              gen.randn(3, 4, 2), gen.randn(4, 1))
    for p in (1.0, 2.0, 3.0):
        for keepdim in (False, True):
            loss_case(f"pairwise_distance-p{p}-keepdim{keepdim}", lambda F, m, a, b, p=p,
                      k=keepdim: F.pairwise_distance(a, b, p=p, keepdim=k),
                      gen.randn(3, 4), gen.randn(3, 4))
    return cases


TORCH_CASES = torch_cases()


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # torch's kl_div
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_loss_against_torch(case: Case) -> None:
    """Forward (shape, dtype, values) and the gradient of every float input vs PyTorch."""
    torch = pytest.importorskip("torch")
    check_against_torch(case, torch)


@pytest.mark.torch
@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
def test_second_order_against_torch(case: Case) -> None:
    torch = pytest.importorskip("torch")
    check_against_torch(case, torch, second_order=True)


# -- numerics at the edges ----------------------------------------------------------------------


def test_bce_with_logits_is_stable_and_exact_at_zero():
    x = fg.tensor([0.0, 0.0, 100.0, -100.0, 1000.0, -1000.0], requires_grad=True)
    t = fg.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(),
                               [np.log(2), np.log(2), 100, 100, 0, 0], rtol=1e-6)
    loss.sum().backward()
    # d/dx = sigmoid(x) - t, also at x = 0 exactly (where softplus built from relu and |x|
    # would lose half of it).
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 0.5, 1, -1, 0, 0], atol=1e-7)


def test_bce_at_exact_zero_and_one_is_finite():
    x = fg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = fg.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100, 100, 0, 0])  # log clamped at -100
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.torch
def test_kl_div_with_zero_target_probabilities():
    """0 log 0 = 0: the loss and the input's gradient are those of PyTorch, and the target's
    gradient is finite (PyTorch's is NaN there)."""
    torch = pytest.importorskip("torch")
    log_q = log_softmax_ref(gen.randn(3, 4), 1).astype(np.float32)
    p = np.array([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]],
                 dtype=np.float32)
    x, t = fg.tensor(log_q, requires_grad=True), fg.tensor(p, requires_grad=True)
    tx = torch.tensor(log_q, requires_grad=True)
    loss = F.kl_div(x, t, reduction="batchmean")
    expected = torch.nn.functional.kl_div(tx, torch.tensor(p), reduction="batchmean")
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    assert np.isfinite(t.grad.numpy()).all()


def test_cross_entropy_with_huge_logits_is_finite():
    x = fg.tensor([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, fg.tensor([1, 1]))
    loss.backward()
    assert np.isclose(loss.item(), 1000.0)
    assert np.isfinite(x.grad.numpy()).all()


def test_cross_entropy_when_every_target_is_ignored_is_nan_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silently, as in PyTorch
        loss = F.cross_entropy(fg.randn(3, 4), fg.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())
    assert F.cross_entropy(fg.randn(3, 4), fg.tensor([-100, -100, -100]),
                           reduction="sum").item() == 0.0


@pytest.mark.parametrize("dtype", [fg.int32, fg.uint8, fg.int16])
def test_class_indices_of_any_integer_dtype(dtype):
    x = fg.randn(5, 3)
    target = fg.tensor([0, 2, 1, 1, 0])
    expected = F.cross_entropy(x, target).item()
    assert F.cross_entropy(x, target.to(dtype)).item() == expected
    assert F.nll_loss(x.log_softmax(1), target.to(dtype)).item() == expected


def test_cross_entropy_of_scores_and_indices_is_one_fused_primitive():
    """(N, C) scores with (N,) indices: one fused primitive forward and one backward, no
    log_softmax array and no one-hot matrix; other shapes gather one log-probability per
    target, and their only (N, C, ...) tensors are those of log_softmax."""
    x = fg.randn(64, 10, requires_grad=True)
    with recording_binds() as log:
        F.cross_entropy(x, fg.randint(0, 10, (64,))).backward()
    names = {p.name for p in log.primitives}
    assert {"softmax_cross_entropy", "cross_entropy_grad"} <= names
    assert not names & {"log_softmax", "gather", "eq", "index_scatter", "concat"}, names
    x = fg.randn(8, 10, 3, requires_grad=True)
    with recording_binds() as log:
        F.cross_entropy(x, fg.randint(0, 10, (8, 3))).backward()
    names = {p.name for p in log.primitives}
    assert "gather" in names and "log_softmax" in names
    assert not names & {"eq", "index_scatter", "concat"}, names


def test_legacy_size_average_and_reduce():
    x, t = fg.tensor([1.0, 3.0]), fg.tensor([0.0, 0.0])
    with pytest.warns(DeprecationWarning, match="reduction"):
        assert F.mse_loss(x, t, size_average=False).item() == 10.0
    with pytest.warns(DeprecationWarning):
        assert F.l1_loss(x, t, reduce=False).tolist() == [1.0, 3.0]
    with pytest.warns(DeprecationWarning):
        assert fg.nn.MSELoss(size_average=False).reduction == "sum"


def test_regression_losses_warn_when_shapes_broadcast():
    x, t = fg.zeros(4, 1), fg.ones(4)
    line = inspect.currentframe().f_lineno + 2
    with pytest.warns(UserWarning) as record:
        loss = F.mse_loss(x, t, reduction="none")
    message = str(record[0].message)
    assert loss.shape == (4, 4)
    assert "mse_loss" in message and "(4,)" in message and "(4, 1)" in message
    assert f"{FILE}:{line})" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(fg.zeros(4), fg.ones(4))  # equal shapes: no warning


# -- the loss layers ----------------------------------------------------------------------------

LAYERS = [
    (fg.nn.MSELoss, {}, F.mse_loss, "regression"),
    (fg.nn.L1Loss, {"reduction": "sum"}, F.l1_loss, "regression"),
    (fg.nn.SmoothL1Loss, {"beta": 0.5}, F.smooth_l1_loss, "regression"),
    (fg.nn.HuberLoss, {"delta": 2.0, "reduction": "none"}, F.huber_loss, "regression"),
    (fg.nn.BCELoss, {"weight": fg.tensor([1.0, 2.0, 0.5])}, F.binary_cross_entropy, "binary"),
    (fg.nn.BCEWithLogitsLoss, {"pos_weight": fg.tensor([2.0, 1.0, 3.0])},
     F.binary_cross_entropy_with_logits, "logits"),
    (fg.nn.NLLLoss, {"ignore_index": 1}, F.nll_loss, "log_probs"),
    (fg.nn.CrossEntropyLoss, {"weight": fg.tensor([1.0, 2.0, 0.5]), "label_smoothing": 0.1},
     F.cross_entropy, "classes"),
    (fg.nn.KLDivLoss, {"reduction": "batchmean", "log_target": True}, F.kl_div, "log_probs2"),
]


def layer_inputs(kind: str) -> tuple[fg.Tensor, fg.Tensor]:
    rng = np.random.default_rng(7)
    scores = fg.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    probs = fg.tensor(rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32))
    classes = fg.tensor([0, 1, 2, 1])
    return {
        "regression": (scores, probs),
        "binary": (probs, probs.round()),
        "logits": (scores, probs),
        "log_probs": (scores.log_softmax(1), classes),
        "classes": (scores, classes),
        "log_probs2": (scores.log_softmax(1), probs.log()),
    }[kind]


@pytest.mark.parametrize("layer, options, function, kind", LAYERS,
                         ids=[layer.__name__ for layer, *_ in LAYERS])
def test_layer_calls_its_function(layer, options, function, kind):
    loss_fn = layer(**options)
    assert isinstance(loss_fn, fg.nn.Module)
    x, t = layer_inputs(kind)
    expected = function(x, t, **options)
    np.testing.assert_array_equal(loss_fn(x, t).numpy(), expected.numpy())
    assert repr(loss_fn) == f"{layer.__name__}()"  # as PyTorch: no extra_repr on losses
    for name, value in options.items():
        assert getattr(loss_fn, name) is value


def test_class_weights_are_buffers():
    weight = fg.tensor([1.0, 2.0, 0.5])
    loss_fn = fg.nn.CrossEntropyLoss(weight=weight)
    assert dict(loss_fn.named_buffers()) == {"weight": weight}
    assert list(loss_fn.state_dict()) == ["weight"]
    assert list(loss_fn.parameters()) == []
    assert list(fg.nn.CrossEntropyLoss().state_dict()) == []  # None is not saved
    loss_fn.double()
    assert loss_fn.weight.dtype == fg.float64
    logits = fg.nn.BCEWithLogitsLoss(weight=fg.ones(3), pos_weight=fg.ones(3))
    assert sorted(logits.state_dict()) == ["pos_weight", "weight"]


@pytest.mark.torch
def test_layers_match_torch_defaults():
    torch = pytest.importorskip("torch")
    for layer, *_ in LAYERS:
        ours, theirs = layer(), getattr(torch.nn, layer.__name__)()
        for name in ("reduction", "ignore_index", "label_smoothing", "beta", "delta",
                     "log_target"):
            assert getattr(ours, name, None) == getattr(theirs, name, None), (layer, name)
        assert repr(ours) == repr(theirs)


# -- errors -------------------------------------------------------------------------------------


def raised(fn):
    """Call ``fn`` (written on the caller's line) and return ``(error, that line)``."""
    line = inspect.currentframe().f_back.f_lineno
    with pytest.raises(Exception) as info:
        fn()
    return info.value, line


def assert_error(error, line, kind, *parts):
    assert isinstance(error, kind), f"{type(error).__name__}: {error}"
    message = str(error)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    assert f"{FILE}:{line})" in message, message


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                  "nll_loss", "cross_entropy", "kl_div"])
def test_unknown_reduction(name):
    x, t = fg.full((2, 3), 0.5), fg.full((2, 3), 0.5)
    if name in ("nll_loss", "cross_entropy"):
        t = fg.tensor([0, 1])
    error, line = raised(lambda: getattr(F, name)(x, t, reduction="avg"))
    assert_error(error, line, ValueError, f"{name}:", "'avg'", "'mean', 'sum', 'none'")


def test_unknown_reduction_of_a_layer_is_reported_at_the_call():
    loss_fn = fg.nn.CrossEntropyLoss(reduction="average")
    error, line = raised(lambda: loss_fn(fg.zeros(2, 3), fg.tensor([0, 1])))
    assert_error(error, line, ValueError, "cross_entropy:", "'average'")


def test_kl_div_reduction_names_batchmean():
    error, line = raised(lambda: F.kl_div(fg.zeros(2, 3), fg.zeros(2, 3), reduction="avg"))
    assert_error(error, line, ValueError, "kl_div:", "'batchmean'")


def test_cross_entropy_float_class_indices():
    x, t = fg.randn(3, 5), fg.tensor([0.0, 1.0, 4.0])
    error, line = raised(lambda: F.cross_entropy(x, t))
    assert_error(error, line, DTypeError, "cross_entropy:", "float32", "(3,)", "target.long()")


def test_cross_entropy_integer_probabilities():
    x, one_hot = fg.randn(3, 5), fg.eye(5, dtype=fg.int64)[:3]
    error, line = raised(lambda: F.cross_entropy(x, one_hot))
    assert_error(error, line, DTypeError, "cross_entropy:", "int64", "(3, 5)", "target.float()")


def test_cross_entropy_batch_size_mismatch():
    x, t = fg.randn(3, 5), fg.tensor([0, 1, 2, 3])
    error, line = raised(lambda: F.cross_entropy(x, t))
    assert_error(error, line, ShapeError, "cross_entropy:", "(3, 5)", "(4,)", "(3,)")


def test_cross_entropy_extra_target_dims():
    x, t = fg.randn(3, 5), fg.tensor([[0], [1], [2]])
    error, line = raised(lambda: F.cross_entropy(x, t))
    assert_error(error, line, ShapeError, "cross_entropy:", "(3, 1)", "(3,)")
    error, line = raised(lambda: F.cross_entropy(fg.randn(2, 3, 4), fg.tensor([0, 1])))
    assert_error(error, line, ShapeError, "(2, 3, 4)", "(2, 4)", "(2,)")


@pytest.mark.parametrize("bad", [5, 7, -1])
def test_class_index_out_of_range(bad):
    x, t = fg.randn(3, 5), fg.tensor([0, bad, 2])
    error, line = raised(lambda: F.cross_entropy(x, t))
    assert_error(error, line, IndexError, "cross_entropy:", f"index {bad}", "5 classes")
    error, line = raised(lambda: F.nll_loss(x, t, ignore_index=0))
    assert_error(error, line, IndexError, "nll_loss:", f"index {bad}", "ignore_index=0")


def test_ignored_index_outside_the_classes_is_not_an_error():
    x = fg.randn(3, 5)
    assert np.isfinite(F.cross_entropy(x, fg.tensor([0, -100, 4])).item())
    assert np.isfinite(F.cross_entropy(x, fg.tensor([0, 9, 4]), ignore_index=9).item())


def test_nll_loss_float_target():
    error, line = raised(lambda: F.nll_loss(fg.randn(3, 5), fg.tensor([0.0, 1.0, 2.0])))
    assert_error(error, line, DTypeError, "nll_loss:", "float32", "target.long()")


def test_nll_loss_shape_mismatch():
    error, line = raised(lambda: F.nll_loss(fg.randn(3, 5), fg.tensor([0, 1])))
    assert_error(error, line, ShapeError, "nll_loss:", "(3, 5)", "(2,)")


def test_class_weight_of_the_wrong_size():
    x, t = fg.randn(3, 5), fg.tensor([0, 1, 2])
    error, line = raised(lambda: F.cross_entropy(x, t, weight=fg.ones(4)))
    assert_error(error, line, ShapeError, "cross_entropy:", "5 classes", "(4,)")
    error, line = raised(lambda: F.nll_loss(x, t, weight=fg.ones(5, 1)))
    assert_error(error, line, ShapeError, "nll_loss:", "(5, 1)")


def test_integer_input():
    t = fg.tensor([0, 1])
    error, line = raised(lambda: F.cross_entropy(fg.tensor([[1, 2], [3, 4]]), t))
    assert_error(error, line, DTypeError, "cross_entropy:", "input", "int64", ".float()")
    error, line = raised(lambda: F.mse_loss(fg.tensor([1, 2]), fg.tensor([1.0, 2.0])))
    assert_error(error, line, DTypeError, "mse_loss:", "int64")


def test_scalar_input_has_no_class_dimension():
    error, line = raised(lambda: F.cross_entropy(fg.tensor(1.0), fg.tensor(0)))
    assert_error(error, line, ShapeError, "cross_entropy:", "0-d")


def test_label_smoothing_out_of_range():
    error, line = raised(lambda: F.cross_entropy(fg.randn(2, 3), fg.tensor([0, 1]),
                                                 label_smoothing=1.5))
    assert_error(error, line, ValueError, "cross_entropy:", "label_smoothing", "1.5")


def test_bce_input_outside_zero_one():
    x, t = fg.tensor([0.5, 1.5]), fg.tensor([1.0, 0.0])
    error, line = raised(lambda: F.binary_cross_entropy(x, t))
    assert_error(error, line, ValueError, "binary_cross_entropy:", "[0, 1]", "1.5",
                 "binary_cross_entropy_with_logits")


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_bce_target_shape_and_dtype(name):
    x = fg.full((3, 1), 0.5)
    error, line = raised(lambda: getattr(F, name)(x, fg.ones(3)))
    assert_error(error, line, ShapeError, f"{name}:", "(3,)", "(3, 1)")
    error, line = raised(lambda: getattr(F, name)(x, fg.tensor([[1], [0], [1]])))
    assert_error(error, line, DTypeError, f"{name}:", "int64", "target.float()")


def test_bce_weight_that_does_not_broadcast():
    x = fg.zeros(3, 4)
    error, line = raised(lambda: F.binary_cross_entropy_with_logits(x, x, pos_weight=fg.ones(3)))
    assert_error(error, line, ShapeError, "pos_weight", "(3,)", "(3, 4)")
    error, line = raised(lambda: F.binary_cross_entropy(x, x, weight=fg.ones(2, 3, 4)))
    assert_error(error, line, ShapeError, "binary_cross_entropy:", "weight", "(2, 3, 4)")


def test_regression_shapes_that_do_not_broadcast():
    error, line = raised(lambda: F.mse_loss(fg.zeros(3, 4), fg.zeros(5)))
    assert_error(error, line, ShapeError, "mse_loss", "(3, 4)", "(5,)")


def test_elementwise_weight_of_another_shape():
    x = fg.zeros(3, 4)
    error, line = raised(lambda: F.l1_loss(x, x, weight=fg.ones(4)))
    assert_error(error, line, ShapeError, "l1_loss:", "(4,)", "(3, 4)")


def test_bad_beta_and_delta():
    x = fg.zeros(3)
    error, line = raised(lambda: F.smooth_l1_loss(x, x, beta=-1.0))
    assert_error(error, line, ValueError, "smooth_l1_loss:", "beta", "-1.0")
    error, line = raised(lambda: F.huber_loss(x, x, delta=0.0))
    assert_error(error, line, ValueError, "huber_loss:", "delta", "0.0")


def test_a_compiled_cross_entropy_names_a_label_out_of_range():
    """In a graph the labels are known only when it runs: the fused kernel checks them."""
    scores = fg.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32))
    loss = fg.compile(lambda x, t: F.cross_entropy(x, t))
    good = np.array([0, 3, 1])
    for _ in range(2):
        np.testing.assert_allclose(loss(scores, good).item(),
                                   F.cross_entropy(scores, fg.tensor(good)).item(), rtol=1e-6)
    with pytest.raises(IndexError, match="class index 7, out of range for 4 classes"):
        loss(scores, np.array([0, 7, 1]))


def test_a_mean_over_only_ignored_targets_is_nan_as_in_pytorch():
    scores = fg.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    loss = F.cross_entropy(scores, fg.tensor([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(scores.grad.numpy(), np.zeros((2, 2), np.float32))
