"""Dropout layers and functions: drop rate and scaling, gradients through the same mask,
channel-wise masks, train/eval behaviour, reproducibility under fg.manual_seed, reprs, errors."""

import numpy as np
import pytest

import flowgrad as fg
import flowgrad.nn.functional as F


@pytest.fixture(autouse=True)
def seeded():
    fg.manual_seed(0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_drop_rate_and_scaling(p):
    y = F.dropout(fg.ones(200, 500), p=p).numpy()
    dropped = (y == 0).mean()
    assert dropped == pytest.approx(p, abs=0.01)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - p)], rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.02)  # the expectation is unchanged


def test_gradient_uses_the_same_mask():
    x = fg.randn(50, 40, requires_grad=True)
    y = F.dropout(x, p=0.3)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.7, 0.0), rtol=1e-6)


def test_keeps_the_dtype():
    assert F.dropout(fg.ones(4, dtype=fg.float64), 0.5).dtype == fg.float64
    assert F.dropout(fg.ones(4, dtype=fg.float16), 0.5).dtype == fg.float16
    with pytest.raises(fg.errors.DTypeError, match="floating-point tensor, got int64"):
        F.dropout(fg.ones(4, dtype=fg.int64), 0.5)


def test_eval_mode_and_p_zero_are_the_identity():
    x = fg.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    layer = fg.nn.Dropout(0.5)
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert not np.array_equal(layer(fg.ones(100)).numpy(), np.ones(100))


def test_p_one_zeroes_everything():
    x = fg.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.detach().numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()


def test_same_seed_same_mask():
    fg.manual_seed(42)
    first = F.dropout(fg.ones(64, 64), 0.5).numpy().copy()
    fg.manual_seed(42)
    second = F.dropout(fg.ones(64, 64), 0.5).numpy()
    assert first.tobytes() == second.tobytes()
    generator = fg.Generator().manual_seed(42)
    third = F.dropout(fg.ones(64, 64), 0.5, generator=generator).numpy()
    assert first.tobytes() == third.tobytes()
    assert not np.array_equal(first, F.dropout(fg.ones(64, 64), 0.5).numpy())


def test_in_place():
    x = fg.ones(10, 10)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}
    hidden = fg.ones(4, 4, requires_grad=True) * 1.0
    fg.nn.Dropout(0.5, inplace=True)(hidden)
    assert hidden.grad_fn is not None


@pytest.mark.parametrize("fn,shape,channel_dims", [
    (F.dropout1d, (8, 16, 5), 2),
    (F.dropout1d, (16, 5), 1),
    (F.dropout2d, (8, 16, 3, 3), 2),
    (F.dropout2d, (16, 3, 3), 1),
    (F.dropout3d, (4, 16, 2, 2, 2), 2),
    (F.dropout3d, (16, 2, 2, 2), 1),
])
def test_feature_dropout_drops_whole_channels(fn, shape, channel_dims):
    y = fn(fg.ones(*shape), p=0.5).numpy()
    per_channel = y.reshape(*shape[:channel_dims], -1)
    assert (per_channel == per_channel[..., :1]).all()  # one value per channel
    assert set(np.unique(per_channel)) == {0.0, 2.0}


def test_feature_dropout_rank_errors():
    with pytest.raises(fg.errors.ShapeError, match=r"dropout2d: expected 3-D or 4-D input, got "
                                                   r"shape \(2, 3\)"):
        F.dropout2d(fg.ones(2, 3))
    with pytest.raises(fg.errors.ShapeError, match="dropout1d"):
        fg.nn.Dropout1d()(fg.ones(2, 3, 4, 5))


def test_alpha_dropout_keeps_mean_and_variance():
    x = fg.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert y.mean() == pytest.approx(0.0, abs=0.02)
    assert y.std() == pytest.approx(1.0, abs=0.02)
    assert F.alpha_dropout(x, 0.2) is x  # training=False by default, as in PyTorch
    layer = fg.nn.AlphaDropout(0.2)
    assert layer.eval()(x) is x


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_out_of_range(p):
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout):
        with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
            fn(fg.ones(2, 2, 2, 2), p)
    for layer in (fg.nn.Dropout, fg.nn.Dropout1d, fg.nn.Dropout2d, fg.nn.Dropout3d,
                  fg.nn.AlphaDropout):
        with pytest.raises(ValueError, match=f"{layer.__name__}: dropout probability"):
            layer(p)


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Dropout(),
    lambda nn: nn.Dropout(0.2, inplace=True),
    lambda nn: nn.Dropout1d(0.3),
    lambda nn: nn.Dropout2d(),
    lambda nn: nn.Dropout3d(0.1),
    lambda nn: nn.AlphaDropout(0.25),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(fg.nn)) == repr(make(torch.nn))
