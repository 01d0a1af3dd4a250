"""Upsample and F.interpolate: against PyTorch (nearest, linear modes, align_corners, sizes and
scale factors), finite differences, repr, and errors."""

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


UPSAMPLE = [
    ({"scale_factor": 2}, (2, 3, 4, 5)),
    ({"scale_factor": 1.7}, (2, 3, 4, 5)),
    ({"size": (7, 3)}, (2, 3, 4, 5)),
    ({"scale_factor": (0.5, 2.5)}, (2, 3, 4, 5)),
    ({"scale_factor": 2, "mode": "bilinear"}, (2, 3, 4, 5)),
    ({"scale_factor": 1.3, "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
    ({"size": (3, 8), "mode": "bilinear"}, (2, 3, 4, 5)),
    ({"scale_factor": 1.5, "mode": "bilinear", "recompute_scale_factor": True}, (2, 3, 4, 5)),
    ({"scale_factor": 3, "mode": "linear"}, (2, 3, 5)),
    ({"size": 4, "mode": "nearest"}, (2, 3, 5)),
    ({"size": (3, 4, 5), "mode": "trilinear", "align_corners": True}, (1, 2, 2, 3, 4)),
    ({"scale_factor": 2, "mode": "nearest"}, (1, 2, 2, 3, 4)),
]


@pytest.mark.torch
@pytest.mark.parametrize(("kwargs", "shape"), UPSAMPLE, ids=[str(k) for k, _ in UPSAMPLE])
def test_upsample_matches_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    compare_with_torch(fg.nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs), randn(*shape))


@pytest.mark.torch
def test_upsampling_aliases_match_torch():
    torch = pytest.importorskip("torch")
    x = randn(1, 2, 3, 4)
    compare_with_torch(fg.nn.UpsamplingNearest2d(scale_factor=2),
                       torch.nn.UpsamplingNearest2d(scale_factor=2), x)
    compare_with_torch(fg.nn.UpsamplingBilinear2d(size=(5, 7)),
                       torch.nn.UpsamplingBilinear2d(size=(5, 7)), x)


@pytest.mark.parametrize("kwargs", [
    {"scale_factor": 1.5, "mode": "bilinear"},
    {"size": (5, 2), "mode": "bilinear", "align_corners": True},
    {"size": (5, 7), "mode": "nearest"},
], ids=str)
def test_gradients_match_finite_differences(kwargs):
    check_gradients(lambda x: F.interpolate(x, **kwargs), randn(1, 2, 3, 4, dtype=np.float64))


@pytest.mark.torch
def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    for kwargs in ({"scale_factor": 2}, {"size": (3, 4), "mode": "bilinear"},
                   {"scale_factor": (2, 3), "mode": "nearest"}):
        assert repr(fg.nn.Upsample(**kwargs)) == repr(torch.nn.Upsample(**kwargs))
    assert repr(fg.nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"


def test_errors_name_the_operation_and_the_line():
    error, line = raised(lambda: F.interpolate(fg.randn(2, 3), scale_factor=2), ShapeError)
    assert str(error).startswith("interpolate: expected a 3-D, 4-D or 5-D input")
    assert f"{FILE}:{line}" in str(error)
    error, _ = raised(lambda: F.interpolate(fg.randn(1, 1, 4), size=3, mode="bilinear"),
                      ShapeError)
    assert "mode 'bilinear' needs a 4-D input" in str(error)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(fg.randn(1, 1, 4))
    with pytest.raises(ValueError, match="mode must be"):
        F.interpolate(fg.randn(1, 1, 4), size=3, mode="bicubic")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(fg.randn(1, 1, 4), size=3, align_corners=True)
