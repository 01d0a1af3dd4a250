"""MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d: against PyTorch, finite differences, reprs,
indices, and errors."""

import os

import numpy as np
import pytest
from layer_reference import check_gradients, compare_with_torch, raised

import flowgrad as fg
import flowgrad.nn.functional as F
from flowgrad.errors import ShapeError

FILE = os.path.basename(__file__)
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def distinct(*shape, dtype=np.float64):
    """Values without ties (finite differences need a unique maximum in every window)."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1).reshape(shape).astype(dtype)


# -- against PyTorch ----------------------------------------------------------------------------

POOL2D = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("MaxPool2d", ((2, 3),), {"stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("AvgPool2d", ((2, 3),), {"divisor_override": 5}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((3, 2),), {}),
    ("AdaptiveAvgPool2d", ((4, None),), {}),
    ("AdaptiveAvgPool2d", (5,), {}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "args", "kwargs"), POOL2D,
                         ids=[f"{n}{a}{k}" for n, a, k in POOL2D])
def test_pool2d_matches_torch(name, args, kwargs):
    torch = pytest.importorskip("torch")
    x = distinct(2, 3, 9, 8, dtype=np.float32)
    compare_with_torch(getattr(fg.nn, name)(*args, **kwargs),
                       getattr(torch.nn, name)(*args, **kwargs), x)
    compare_with_torch(getattr(fg.nn, name)(*args, **kwargs),
                       getattr(torch.nn, name)(*args, **kwargs), x[0])  # unbatched


POOL1D = [
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}),
    ("MaxPool1d", (2,), {"ceil_mode": True, "dilation": 2}),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("AvgPool1d", (4,), {"ceil_mode": True}),
    ("AdaptiveAvgPool1d", (4,), {}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "args", "kwargs"), POOL1D,
                         ids=[f"{n}{a}{k}" for n, a, k in POOL1D])
def test_pool1d_matches_torch(name, args, kwargs):
    torch = pytest.importorskip("torch")
    x = distinct(2, 3, 11, dtype=np.float32)
    compare_with_torch(getattr(fg.nn, name)(*args, **kwargs),
                       getattr(torch.nn, name)(*args, **kwargs), x)


@pytest.mark.torch
def test_max_pool_ties_route_to_the_first_maximum_as_torch():
    """After a ReLU many windows are all zeros: the gradient goes where PyTorch sends it."""
    torch = pytest.importorskip("torch")
    x = np.maximum(randn(2, 3, 6, 6), 0)
    x[0, 0, :2, :2] = 0.0
    x[1, 2, 2:4, 2:4] = 1.5
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        compare_with_torch(fg.nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x)


@pytest.mark.torch
def test_return_indices_match_torch():
    torch = pytest.importorskip("torch")
    x = randn(2, 3, 7, 7)
    out, indices = fg.nn.MaxPool2d(3, 2, 1, return_indices=True)(fg.tensor(x))
    t_out, t_indices = torch.nn.MaxPool2d(3, 2, 1, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())
    assert indices.dtype == fg.int64
    x1 = randn(2, 3, 10)
    _, indices = F.max_pool1d(fg.tensor(x1), 3, return_indices=True)
    _, t_indices = torch.nn.functional.max_pool1d(torch.tensor(x1), 3, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


# -- finite differences -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
], ids=["max", "avg", "adaptive-uneven", "adaptive-tiled"])
def test_gradients_match_finite_differences(fn):
    check_gradients(fn, distinct(1, 2, 6, 6))


# -- repr ---------------------------------------------------------------------------------------

REPRS = [
    ("MaxPool2d", (2,), {}, "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                             "ceil_mode=False)"),
    ("MaxPool2d", ((3, 2),), {"stride": 1, "padding": 1, "ceil_mode": True},
     "MaxPool2d(kernel_size=(3, 2), stride=1, padding=1, dilation=1, ceil_mode=True)"),
    ("MaxPool1d", (3,), {}, "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, "
                             "ceil_mode=False)"),
    ("AvgPool2d", (3,), {"stride": 2}, "AvgPool2d(kernel_size=3, stride=2, padding=0)"),
    ("AvgPool1d", (3,), {}, "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, "AdaptiveAvgPool2d(output_size=(1, 1))"),
    ("AdaptiveAvgPool1d", (4,), {}, "AdaptiveAvgPool1d(output_size=4)"),
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


def test_wrong_rank_names_the_operation_and_the_line():
    error, line = raised(lambda: fg.nn.MaxPool2d(2)(fg.randn(2, 3)), ShapeError)
    assert str(error).startswith("max_pool2d: expected a 4-D input (N, C, H, W) or a 3-D "
                                 "unbatched input (C, H, W), got shape (2, 3)")
    assert f"{FILE}:{line}" in str(error)


def test_window_larger_than_the_input():
    error, line = raised(lambda: F.avg_pool2d(fg.randn(1, 1, 2, 2), 3), ShapeError)
    assert str(error).startswith("avg_pool2d: input of shape (1, 1, 2, 2) is too small")
    assert f"{FILE}:{line}" in str(error)


@pytest.mark.parametrize(("call", "text"), [
    (lambda: F.max_pool2d(fg.randn(1, 1, 4, 4), 2, padding=2), "at most half"),
    (lambda: F.max_pool2d(fg.randn(1, 1, 4, 4), 0), "kernel_size must be positive"),
    (lambda: F.avg_pool2d(fg.randn(1, 1, 4, 4), (2, 2, 2)), "sequence of 2 ints"),
    (lambda: F.avg_pool2d(fg.randn(1, 1, 4, 4), 2, divisor_override=0), "divisor_override"),
    (lambda: F.adaptive_avg_pool2d(fg.randn(1, 1, 4, 4), (2, 2, 2)), "output_size"),
])
def test_bad_arguments(call, text):
    with pytest.raises(ValueError, match=text):
        call()


def test_max_pool_positions_are_the_same_computed_in_cache_sized_blocks(monkeypatch):
    import flowgrad.ops.nn as kernels

    x = np.random.default_rng(3).standard_normal((5, 3, 9, 7)).astype(np.float32)
    geometry = dict(kernel=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 1),
                    ceil_mode=True)
    whole = kernels._max_pool2d_argmax_block(x, **geometry)
    monkeypatch.setattr(kernels, "_CACHE_BLOCK_BYTES", 2 * x[:1].nbytes)  # blocks of 2 samples
    np.testing.assert_array_equal(kernels._max_pool2d_argmax_kernel(x, **geometry), whole)


@pytest.mark.parametrize("kernel", [(2, 2), (3, 2), (1, 4)])
def test_tiling_windows_take_the_fast_path_with_the_same_positions(kernel):
    """Windows that tile the input exactly have their own kernel: it must find the same
    first maxima as the general one, ties included (small integers make many ties)."""
    from flowgrad.ops import nn as kernels

    x = np.random.default_rng(5).integers(0, 3, (5, 3, 12, 8)).astype(np.float32)
    geometry = dict(kernel=kernel, stride=kernel, padding=(0, 0), dilation=(1, 1),
                    ceil_mode=False)
    fast = kernels._non_overlapping_argmax(x, kernel, per_block=2)
    general = kernels._max_pool2d_argmax_block(x, **geometry)
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(kernels._max_pool2d_argmax_kernel(x, **geometry), general)
