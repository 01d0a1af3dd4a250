"""Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d: against PyTorch with copied weights, finite
differences, initialisation as PyTorch's, reprs, and errors that name the layer."""

import math
import os

import numpy as np
import pytest
from layer_reference import check_gradients, compare_with_torch, copy_weights, raised

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.errors import ShapeError

FILE = os.path.basename(__file__)
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# -- against PyTorch ----------------------------------------------------------------------------

CONV2D = [
    ((3, 4, 3), {}),
    ((3, 4, 3), {"padding": 1}),
    ((4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
    ((4, 4, 3), {"padding": "same", "groups": 4, "bias": False}),
    ((3, 2, 1), {"padding": "valid"}),
    ((3, 4, 3), {"padding": 2, "padding_mode": "reflect"}),
    ((3, 4, (2, 3)), {"padding": (1, 2), "padding_mode": "replicate"}),
    ((3, 4, 3), {"padding": 1, "padding_mode": "circular", "stride": 2}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("args", "kwargs"), CONV2D, ids=[str(k) for _, k in CONV2D])
def test_conv2d_matches_torch(args, kwargs):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs),
                       randn(2, args[0], 7, 6), rtol=1e-4, atol=1e-5)


@pytest.mark.torch
def test_conv2d_unbatched_and_float64_match_torch():
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3), randn(2, 5, 5),
                       rtol=1e-4, atol=1e-5)
    layer = fg.nn.Conv2d(2, 3, 3, dtype=fg.float64)
    assert layer.weight.dtype == fg.float64 and layer.bias.dtype == fg.float64
    compare_with_torch(layer, torch.nn.Conv2d(2, 3, 3, dtype=torch.float64),
                       randn(1, 2, 4, 4, dtype=np.float64), rtol=1e-10, atol=1e-12)


CONV1D = [
    ((3, 4, 3), {}),
    ((4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    ((3, 4, 5), {"padding": "same", "bias": False}),
    ((3, 4, 3), {"padding": 2, "padding_mode": "reflect"}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("args", "kwargs"), CONV1D, ids=[str(k) for _, k in CONV1D])
def test_conv1d_matches_torch(args, kwargs):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Conv1d(*args, **kwargs), torch.nn.Conv1d(*args, **kwargs),
                       randn(2, args[0], 9), rtol=1e-4, atol=1e-5)


TRANSPOSED = [
    ((3, 4, 3), {}),
    ((4, 6, (3, 2)), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2),
                      "groups": 2, "dilation": (1, 2)}),
    ((3, 2, 2), {"stride": 2, "bias": False}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("args", "kwargs"), TRANSPOSED, ids=[str(k) for _, k in TRANSPOSED])
def test_conv_transpose2d_matches_torch(args, kwargs):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.ConvTranspose2d(*args, **kwargs),
                       torch.nn.ConvTranspose2d(*args, **kwargs), randn(2, args[0], 4, 5),
                       rtol=1e-4, atol=1e-5)


@pytest.mark.torch
def test_conv_transpose_output_size_matches_torch():
    torch = pytest.importorskip("torch")
    layer, t_layer = fg.nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3,
                                                                                        stride=2)
    copy_weights(layer, t_layer)
    x = randn(1, 2, 4, 4)
    got = layer(fg.tensor(x), output_size=(10, 9))
    expected = t_layer(torch.tensor(x), output_size=(10, 9))
    assert got.shape == (1, 3, 10, 9)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="not reachable"):
        layer(fg.tensor(x), output_size=(12, 9))


@pytest.mark.torch
def test_conv_transpose1d_matches_torch():
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1),
                       torch.nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1), randn(2, 4, 5),
                       rtol=1e-4, atol=1e-5)


@pytest.mark.torch
def test_article_cnn_matches_torch():
    """The article's network (conv, relu, max-pool, two linear layers), weights copied."""
    torch = pytest.importorskip("torch")

    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 3))

    compare_with_torch(build(fg), build(torch), randn(4, 3, 8, 8), rtol=1e-4, atol=1e-5)


# -- finite differences -------------------------------------------------------------------------


def test_conv2d_gradients_match_finite_differences():
    layer = fg.nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=1, dilation=(2, 1),
                         dtype=fg.float64)
    check_gradients(layer, randn(2, 2, 5, 6, dtype=np.float64), params=list(layer.parameters()))


def test_conv_transpose2d_gradients_match_finite_differences():
    layer = fg.nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2,
                                  dtype=fg.float64)
    check_gradients(layer, randn(1, 2, 3, 3, dtype=np.float64), params=list(layer.parameters()))


def test_reflect_padding_gradients_match_finite_differences():
    layer = fg.nn.Conv1d(2, 2, 3, padding=2, padding_mode="reflect", dtype=fg.float64)
    check_gradients(layer, randn(1, 2, 5, dtype=np.float64), params=list(layer.parameters()))


# -- parameters, initialisation, repr -----------------------------------------------------------


def test_parameter_shapes_and_init_bounds():
    fg.manual_seed(0)
    layer = fg.nn.Conv2d(6, 8, (3, 5), groups=2)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 5)  # kaiming_uniform_(a=sqrt(5)) on fan_in = 45
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    transposed = fg.nn.ConvTranspose2d(6, 8, 3, groups=2)
    assert transposed.weight.shape == (6, 4, 3, 3)
    assert np.abs(transposed.bias.detach().numpy()).max() <= 1 / math.sqrt(4 * 9)
    assert fg.nn.Conv1d(3, 5, 4, bias=False).bias is None
    assert [name for name, _ in fg.nn.Conv1d(3, 5, 4).named_parameters()] == ["weight", "bias"]


def test_init_is_reproducible():
    fg.manual_seed(3)
    first = fg.nn.Conv2d(2, 3, 3).weight.detach().numpy().copy()
    fg.manual_seed(3)
    assert np.array_equal(fg.nn.Conv2d(2, 3, 3).weight.detach().numpy(), first)


REPRS = [
    ("Conv2d", (3, 32, 3), {"padding": 1},
     "Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"),
    ("Conv2d", (4, 8, (3, 5)), {"stride": 2, "dilation": 2, "groups": 2, "bias": False,
                                "padding_mode": "reflect"},
     "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, bias=False, "
     "padding_mode=reflect)"),
    ("Conv2d", (4, 8, 3), {"padding": "same"},
     "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=same)"),
    ("Conv1d", (4, 8, 3), {"padding": "valid"},
     "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=valid)"),
    ("ConvTranspose2d", (4, 8, 3), {"stride": 2, "padding": 1, "output_padding": 1},
     "ConvTranspose2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
     "output_padding=(1, 1))"),
    ("ConvTranspose1d", (4, 8, 3), {}, "ConvTranspose1d(4, 8, kernel_size=(3,), stride=(1,))"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "text"), REPRS, ids=[r[3] for r in REPRS])
def test_repr(name, args, kwargs, text):
    assert repr(getattr(fg.nn, name)(*args, **kwargs)) == text


@pytest.mark.torch
@pytest.mark.parametrize(("name", "args", "kwargs", "text"), REPRS, ids=[r[3] for r in REPRS])
def test_repr_matches_torch(name, args, kwargs, text):
    torch = pytest.importorskip("torch")
    assert repr(getattr(torch.nn, name)(*args, **kwargs)) == text


# -- errors -------------------------------------------------------------------------------------


def test_wrong_channels_names_the_layer_and_the_line():
    layer = fg.nn.Conv2d(3, 32, 3)
    error, line = raised(lambda: layer(fg.randn(32, 32, 3, 32)), ShapeError)
    message = str(error)
    assert isinstance(error, ValueError)
    assert message.startswith("Conv2d(3, 32, kernel_size=(3, 3)): expected input with 3 "
                              "channels, got 32 channels")
    assert "(32, 32, 3, 32)" in message and f"{FILE}:{line}" in message


def test_channels_last_input_gets_a_hint():
    error, _ = raised(lambda: fg.nn.Conv2d(3, 8, 3)(fg.randn(2, 8, 8, 3)), ShapeError)
    assert "permute(0, 3, 1, 2)" in str(error)


def test_wrong_rank_names_the_layer():
    error, line = raised(lambda: fg.nn.Conv1d(3, 8, 3)(fg.randn(2, 3, 4, 4)), ShapeError)
    assert str(error).startswith("Conv1d(3, 8, kernel_size=(3,)): expected a 3-D input")
    assert f"{FILE}:{line}" in str(error)


def test_functional_errors_name_the_operation():
    error, line = raised(lambda: F.conv2d(fg.randn(1, 4, 5, 5), fg.randn(2, 3, 3, 3)),
                         ShapeError)
    assert str(error).startswith("conv2d: expected input with 3 channels, got 4 channels")
    assert f"{FILE}:{line}" in str(error)
    error, _ = raised(lambda: F.conv2d(fg.randn(1, 3, 2, 2), fg.randn(2, 3, 3, 3)), ShapeError)
    assert "smaller than the kernel" in str(error)
    error, _ = raised(lambda: F.conv2d(fg.randn(1, 3, 5, 5), fg.randn(2, 3, 3, 3),
                                       fg.randn(3)), ShapeError)
    assert "bias of shape (2,)" in str(error)
    error, _ = raised(lambda: F.conv2d(fg.randn(1, 3, 5, 5), fg.randn(2, 3, 3, 3), stride=2,
                                       padding="same"), ValueError)
    assert "not supported for strided" in str(error)
    error, _ = raised(lambda: F.conv2d(fg.randn(1, 3, 5, 5),
                                       fg.randn(2, 3, 3, 3, dtype=fg.float64)), TypeError)
    assert "one dtype" in str(error)
    error, _ = raised(lambda: F.max_pool2d(fg.ones(1, 1, 4, 4, dtype=fg.int64), 2), TypeError)
    assert str(error).startswith("max_pool2d: expected floating-point tensors")


@pytest.mark.parametrize(("make", "text"), [
    (lambda: fg.nn.Conv2d(3, 8, 3, groups=2), "divisible by groups"),
    (lambda: fg.nn.Conv2d(3, 8, 3, padding_mode="mirror"), "padding_mode"),
    (lambda: fg.nn.Conv2d(3, 8, 3, stride=2, padding="same"), "strided"),
    (lambda: fg.nn.Conv2d(3, 8, 3, padding="full"), "padding"),
    (lambda: fg.nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect"), "zeros"),
])
def test_bad_arguments(make, text):
    with pytest.raises(ValueError, match=text):
        make()


def test_output_padding_must_be_below_stride_or_dilation():
    error, _ = raised(lambda: F.conv_transpose2d(fg.randn(1, 2, 3, 3), fg.randn(2, 2, 3, 3),
                                                 stride=2, output_padding=2), ValueError)
    assert "output_padding" in str(error)


def test_the_weight_gradient_reuses_the_forward_columns_only_for_the_same_input():
    from flowgrad.ops import nn as kernels

    rng = np.random.default_rng(3)
    x = fg.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    w = fg.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    with fg.no_grad():
        fg.nn.functional.conv2d(x, w, padding=1)
    assert kernels._LAST_COLUMNS.entry is None  # inference keeps nothing
    out = fg.nn.functional.conv2d(x, w, padding=1)
    assert kernels._LAST_COLUMNS.entry[0] is x._data
    (grad,) = fg.autograd.grad(out.sum(), [w])
    assert kernels._LAST_COLUMNS.entry is None  # taken once
    first = fg.nn.functional.conv2d(x, w, padding=1)
    other = fg.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    fg.nn.functional.conv2d(other, w, padding=1)  # replaces the kept columns
    (again,) = fg.autograd.grad(first.sum(), [w])  # so x's are recomputed
    assert kernels._LAST_COLUMNS.entry[0] is other._data
    np.testing.assert_allclose(again.numpy(), grad.numpy(), rtol=1e-6)
    expected = np.einsum("nchw->c", np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))[
        :, :, :5, :5])  # sum of the input window at kernel position (0, 0), per channel
    np.testing.assert_allclose(grad.numpy()[:, :, 0, 0], np.tile(expected, (4, 1)), rtol=1e-5)
