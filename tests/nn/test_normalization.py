"""BatchNorm1d/2d/3d, LayerNorm, GroupNorm, LocalResponseNorm and F.normalize: forward,
gradients and running statistics against PyTorch with copied weights, gradients against finite
differences, train/eval behaviour, reprs, errors raised before any state changes."""

import os

import numpy as np
import pytest
from layer_reference import check_gradients, compare_with_torch, raised

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.errors import ShapeError

FILE = os.path.basename(__file__)
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


def assert_same_state(layer, torch_layer, rtol=1e-5, atol=1e-6):
    torch_state = torch_layer.state_dict()
    state = layer.state_dict()
    assert list(state) == list(torch_state)
    for name, value in state.items():
        np.testing.assert_allclose(value.numpy(), torch_state[name].numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


# -- batch norm against PyTorch -----------------------------------------------------------------

BATCH_NORMS = [
    ("1d-2D", lambda nn, **kw: nn.BatchNorm1d(3, **kw), (8, 3)),
    ("1d-3D", lambda nn, **kw: nn.BatchNorm1d(3, **kw), (4, 3, 5)),
    ("2d", lambda nn, **kw: nn.BatchNorm2d(3, **kw), (4, 3, 5, 2)),
    ("3d", lambda nn, **kw: nn.BatchNorm3d(2, **kw), (2, 2, 3, 2, 2)),
]
OPTIONS = [
    {},
    {"bias": False},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"track_running_stats": False},
]


@pytest.mark.torch
@pytest.mark.parametrize("make,shape", [(m, s) for _, m, s in BATCH_NORMS],
                         ids=[n for n, _, _ in BATCH_NORMS])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_batch_norm_training_and_eval_match_torch(make, shape, options):
    torch = pytest.importorskip("torch")
    layer, torch_layer = make(fg.nn, **options), make(torch.nn, **options)
    with torch.no_grad():  # non-trivial affine parameters
        for p in torch_layer.parameters():
            p.uniform_(0.5, 1.5)
    for step in range(3):  # running statistics accumulate over several batches
        x = randn(*shape, scale=2.0, shift=step)
        compare_with_torch(layer, torch_layer, x, rtol=1e-4, atol=1e-5, copy=step == 0)
        for p, t_p in zip(layer.parameters(), torch_layer.parameters(), strict=True):
            p.grad, t_p.grad = None, None
    assert_same_state(layer, torch_layer)
    layer.eval()
    torch_layer.eval()
    compare_with_torch(layer, torch_layer, randn(*shape, shift=1.0), rtol=1e-4, atol=1e-5,
                       copy=False)
    assert_same_state(layer, torch_layer)


@pytest.mark.torch
def test_batch_norm_float64_matches_torch():
    torch = pytest.importorskip("torch")
    layer = fg.nn.BatchNorm2d(4, dtype=fg.float64)
    torch_layer = torch.nn.BatchNorm2d(4, dtype=torch.float64)
    compare_with_torch(layer, torch_layer, randn(3, 4, 2, 2, dtype=np.float64), rtol=1e-10,
                       atol=1e-12)
    assert_same_state(layer, torch_layer, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_functional_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = randn(6, 3, 4), randn(3), randn(3)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    fg_mean, fg_var = fg.tensor(mean), fg.tensor(var)
    t_mean, t_var = torch.tensor(mean), torch.tensor(var)
    got = F.batch_norm(fg.tensor(x), fg_mean, fg_var, fg.tensor(w), fg.tensor(b), True, 0.2)
    expected = torch.nn.functional.batch_norm(torch.tensor(x), t_mean, t_var, torch.tensor(w),
                                              torch.tensor(b), True, 0.2)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fg_mean.numpy(), t_mean.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fg_var.numpy(), t_var.numpy(), rtol=1e-6, atol=1e-7)
    no_stats = F.batch_norm(fg.tensor(x), None, None, training=True)
    np.testing.assert_allclose(
        no_stats.numpy(),
        torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True).numpy(),
        rtol=1e-5, atol=1e-5)


def test_batch_norm_gradients_match_finite_differences():
    layer = fg.nn.BatchNorm1d(3, dtype=fg.float64)
    with fg.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-1, 1)
    check_gradients(layer, rng.standard_normal((4, 3, 2)), params=[layer.weight, layer.bias])
    layer.eval()
    check_gradients(layer, rng.standard_normal((4, 3)), params=[layer.weight, layer.bias])


# -- batch norm behaviour -------------------------------------------------------------------------


def test_running_statistics_by_hand():
    """momentum 0.1, unbiased variance; momentum None is the cumulative average."""
    x = fg.tensor([[1.0], [3.0]])
    bn = fg.nn.BatchNorm1d(1)
    bn(x)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2])
    np.testing.assert_allclose(bn.running_var.numpy(), [0.9 + 0.1 * 2.0])
    assert bn.num_batches_tracked.item() == 1
    assert bn.num_batches_tracked.dtype == fg.int64

    cumulative = fg.nn.BatchNorm1d(1, momentum=None)
    for batch in ([[1.0], [3.0]], [[5.0], [7.0]], [[0.0], [0.0]]):
        cumulative(fg.tensor(batch))
    np.testing.assert_allclose(cumulative.running_mean.numpy(), [(2 + 6 + 0) / 3])
    np.testing.assert_allclose(cumulative.running_var.numpy(), [(2 + 2 + 0) / 3], rtol=1e-6)
    assert cumulative.num_batches_tracked.item() == 3


def test_eval_mode_uses_running_statistics_and_changes_nothing():
    bn = fg.nn.BatchNorm2d(2)
    with fg.no_grad():
        bn.running_mean.copy_(fg.tensor([1.0, -1.0]))
        bn.running_var.copy_(fg.tensor([4.0, 0.25]))
    bn.eval()
    x = fg.ones(1, 2, 1, 1)  # a batch of one is fine in eval mode
    y = bn(x)
    np.testing.assert_allclose(y.detach().numpy().ravel(), [0.0, 2.0 / np.sqrt(0.25 + 1e-5)],
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.0, -1.0])


def test_training_does_not_record_running_statistics_updates():
    bn = fg.nn.BatchNorm1d(2)
    x = fg.randn(4, 2, requires_grad=True)
    bn(x).sum().backward()
    assert not bn.running_mean.requires_grad and bn.running_mean.grad_fn is None
    assert x.grad is not None


def test_without_tracking_there_are_no_buffers():
    bn = fg.nn.BatchNorm1d(3, track_running_stats=False)
    assert bn.running_mean is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == ["weight", "bias"]
    bn.eval()  # batch statistics in eval mode too
    y = bn(fg.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    np.testing.assert_allclose(y.detach().numpy()[:, 0], [-1.0, 1.0], rtol=1e-4)


def test_batch_norm_parameters_and_buffers():
    bn = fg.nn.BatchNorm2d(5)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                 "num_batches_tracked"]
    assert bn.weight.tolist() == [1.0] * 5 and bn.bias.tolist() == [0.0] * 5
    assert fg.nn.BatchNorm2d(5, affine=False).weight is None
    bn(fg.randn(2, 5, 3, 3))
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0.0] * 5 and bn.num_batches_tracked.item() == 0


def test_batch_norm_state_dict_loads_into_torch():
    torch = pytest.importorskip("torch")
    bn = fg.nn.BatchNorm1d(3)
    bn(fg.randn(5, 3))
    torch_bn = torch.nn.BatchNorm1d(3)
    torch_bn.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bn.state_dict().items()})
    assert torch_bn.num_batches_tracked.item() == 1


# -- errors ---------------------------------------------------------------------------------------


def test_wrong_channel_count_names_layer_shapes_and_line():
    bn = fg.nn.BatchNorm2d(64)
    error, line = raised(lambda: bn(fg.zeros(8, 32, 4, 4)), ShapeError)
    message = str(error)
    assert message.startswith("BatchNorm2d(64): input has 32 channels (shape (8, 32, 4, 4)), "
                              "expected 64")
    assert message.endswith(f"{FILE}:{line})")
    assert bn.num_batches_tracked.item() == 0


def test_wrong_rank_names_layer():
    error, line = raised(lambda: fg.nn.BatchNorm1d(3)(fg.zeros(2, 3, 4, 4)), ShapeError)
    assert "BatchNorm1d(3): expected 2-D or 3-D input (N, C) or (N, C, L), got shape " \
           "(2, 3, 4, 4)" in str(error)
    assert f"{FILE}:{line}" in str(error)
    error, _ = raised(lambda: fg.nn.BatchNorm2d(3)(fg.zeros(2, 3)), ShapeError)
    assert "expected 4-D input (N, C, H, W)" in str(error)


def test_one_value_per_channel_fails_before_state_changes():
    bn = fg.nn.BatchNorm1d(3)
    error, line = raised(lambda: bn(fg.zeros(1, 3)), ValueError)
    assert "BatchNorm1d(3): expected more than 1 value per channel when training" in str(error)
    assert f"{FILE}:{line}" in str(error)
    assert bn.num_batches_tracked.item() == 0
    assert bn.running_mean.tolist() == [0.0] * 3


def test_functional_batch_norm_errors():
    with pytest.raises(ShapeError, match="batch_norm: input has 4 channels"):
        F.batch_norm(fg.zeros(2, 4), fg.zeros(3), fg.ones(3), training=True)
    with pytest.raises(ValueError, match="needed when training=False"):
        F.batch_norm(fg.zeros(2, 3), None, None)


# -- layer norm ----------------------------------------------------------------------------------

LAYER_NORMS = [
    ("last", lambda nn: nn.LayerNorm(6), (4, 6)),
    ("last-3D", lambda nn: nn.LayerNorm(6), (2, 3, 6)),
    ("two-dims", lambda nn: nn.LayerNorm([3, 6]), (2, 3, 6)),
    ("no-affine", lambda nn: nn.LayerNorm(6, elementwise_affine=False), (4, 6)),
    ("no-bias", lambda nn: nn.LayerNorm(6, bias=False), (4, 6)),
    ("eps", lambda nn: nn.LayerNorm((6,), eps=1e-2), (4, 6)),
]


@pytest.mark.torch
@pytest.mark.parametrize("make,shape", [(m, s) for _, m, s in LAYER_NORMS],
                         ids=[n for n, _, _ in LAYER_NORMS])
def test_layer_norm_matches_torch(make, shape):
    torch = pytest.importorskip("torch")
    torch_layer = make(torch.nn)
    with torch.no_grad():
        for p in torch_layer.parameters():
            p.uniform_(-1.5, 1.5)
    compare_with_torch(make(fg.nn), torch_layer, randn(*shape, scale=3.0, shift=1.0),
                       rtol=1e-4, atol=1e-5)


def test_layer_norm_gradients_match_finite_differences():
    layer = fg.nn.LayerNorm([2, 3], dtype=fg.float64)
    with fg.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-1, 1)
    check_gradients(layer, rng.standard_normal((4, 2, 3)), params=[layer.weight, layer.bias])


def test_layer_norm_shape_error():
    layer = fg.nn.LayerNorm(10)
    error, line = raised(lambda: layer(fg.zeros(4, 8)), ShapeError)
    assert str(error).startswith("LayerNorm((10,)): input of shape (4, 8) does not end in the "
                                 "normalized shape (10,)")
    assert f"{FILE}:{line}" in str(error)


# -- group norm ----------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("groups,shape", [(2, (3, 6, 4)), (3, (2, 6, 2, 2)), (1, (2, 6)),
                                          (6, (2, 6, 5))])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"bias": False}],
                         ids=["affine", "no-affine", "no-bias"])
def test_group_norm_matches_torch(groups, shape, options):
    torch = pytest.importorskip("torch")
    torch_layer = torch.nn.GroupNorm(groups, 6, **options)
    with torch.no_grad():
        for p in torch_layer.parameters():
            p.uniform_(-1.5, 1.5)
    compare_with_torch(fg.nn.GroupNorm(groups, 6, **options), torch_layer,
                       randn(*shape, scale=2.0), rtol=1e-4, atol=1e-5)


def test_group_norm_gradients_match_finite_differences():
    layer = fg.nn.GroupNorm(2, 4, dtype=fg.float64)
    with fg.no_grad():
        layer.weight.uniform_(0.5, 1.5)
    check_gradients(layer, rng.standard_normal((2, 4, 3)), params=[layer.weight, layer.bias])


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups"):
        fg.nn.GroupNorm(4, 6)
    error, line = raised(lambda: fg.nn.GroupNorm(2, 6)(fg.zeros(2, 4, 3)), ShapeError)
    assert str(error).startswith("GroupNorm(2, 6): input has 4 channels (shape (2, 4, 3))")
    assert f"{FILE}:{line}" in str(error)


# -- RMS norm ------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("make,shape", [
    (lambda nn: nn.RMSNorm(6), (4, 6)),
    (lambda nn: nn.RMSNorm([3, 6], eps=1e-3), (2, 3, 6)),
    (lambda nn: nn.RMSNorm(6, elementwise_affine=False), (2, 5, 6)),
], ids=["last", "two-dims-eps", "no-affine"])
def test_rms_norm_matches_torch(make, shape):
    torch = pytest.importorskip("torch")
    torch_layer = make(torch.nn)
    with torch.no_grad():
        for p in torch_layer.parameters():
            p.uniform_(-1.5, 1.5)
    compare_with_torch(make(fg.nn), torch_layer, randn(*shape, scale=2.0), rtol=1e-5,
                       atol=1e-5)


def test_rms_norm_gradients_match_finite_differences():
    layer = fg.nn.RMSNorm(3, dtype=fg.float64)
    with fg.no_grad():
        layer.weight.uniform_(0.5, 1.5)
    check_gradients(layer, rng.standard_normal((4, 3)), params=[layer.weight])


# -- local response norm and normalize ---------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("size,shape", [(2, (2, 5, 3)), (3, (2, 4, 3, 3)), (5, (1, 7, 2))])
def test_local_response_norm_matches_torch(size, shape):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.LocalResponseNorm(size, alpha=0.5, beta=0.6, k=2.0),
                       torch.nn.LocalResponseNorm(size, alpha=0.5, beta=0.6, k=2.0),
                       randn(*shape), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_normalize_matches_torch(p, dim):
    torch = pytest.importorskip("torch")
    x = randn(3, 4, 2)
    x[0, :, :] = 0.0  # a zero vector along dim 0 and 1 keeps a finite gradient
    fg_x, t_x = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, t_y = F.normalize(fg_x, p=p, dim=dim), torch.nn.functional.normalize(t_x, p=p, dim=dim)
    np.testing.assert_allclose(y.detach().numpy(), t_y.detach().numpy(), rtol=1e-5, atol=1e-6)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(fg.tensor(upstream))
    t_y.backward(torch.tensor(upstream))
    assert np.isfinite(fg_x.grad.numpy()).all()
    np.testing.assert_allclose(fg_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_normalize_gives_unit_vectors():
    y = F.normalize(fg.tensor([[3.0, 4.0], [0.0, 0.0]]), dim=1)
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


# -- repr ----------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.BatchNorm1d(3),
    lambda nn: nn.BatchNorm2d(64, eps=1e-3, momentum=None, affine=False),
    lambda nn: nn.BatchNorm3d(8, track_running_stats=False),
    lambda nn: nn.LayerNorm(10),
    lambda nn: nn.LayerNorm([3, 4], eps=1e-6, elementwise_affine=False),
    lambda nn: nn.LayerNorm(5, bias=False),
    lambda nn: nn.GroupNorm(4, 8),
    lambda nn: nn.GroupNorm(2, 8, eps=1e-3, affine=False),
    lambda nn: nn.BatchNorm1d(3, bias=False),
    lambda nn: nn.GroupNorm(2, 8, bias=False),
    lambda nn: nn.RMSNorm(4),
    lambda nn: nn.RMSNorm([2, 3], eps=1e-6, elementwise_affine=False),
    lambda nn: nn.LocalResponseNorm(3),
    lambda nn: nn.LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2.0),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))
