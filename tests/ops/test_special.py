"""The special-function kernels: erf to float64 precision against the standard library's
math.erf over every interval of the approximation, and erfinv as its inverse."""

import math

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.ops.special import erf_kernel, erfinv_kernel

math_erf = np.vectorize(math.erf, otypes=[np.float64])


def test_erf_matches_math_erf_to_float64_precision():
    x = np.concatenate([np.linspace(-8, 8, 200_001), np.geomspace(1e-300, 1.0, 2_000),
                        -np.geomspace(1e-300, 1.0, 2_000), [1.0, 3.0, 6.0, -1.0, -3.0, -6.0]])
    expected = math_erf(x)
    np.testing.assert_allclose(erf_kernel(x), expected, rtol=1e-14, atol=0)


def test_erf_special_values():
    got = erf_kernel(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 30.0, -30.0]))
    assert got[0] == 0 and np.signbit(got[1])
    assert got[2:4].tolist() == [1.0, -1.0]
    assert np.isnan(got[4])
    assert got[5:].tolist() == [1.0, -1.0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_erf_keeps_dtype_and_shape(dtype):
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    got = erf_kernel(x)
    assert got.dtype == dtype and got.shape == (3, 4)
    # Computed in float64 and rounded once: correctly rounded in the narrower types.
    tolerance = {"rtol": 1e-14} if dtype == np.float64 else {"rtol": 0}
    np.testing.assert_allclose(got, math_erf(x.astype(np.float64)).astype(dtype), **tolerance)
    assert erf_kernel(np.array(0.5, dtype=dtype)).shape == ()


def test_erf_integer_tensor_becomes_float():
    assert fg.erf(fg.tensor([0, 1])).dtype == fg.float32


def test_erfinv_inverts_erf():
    y = np.linspace(-1, 1, 100_001)[1:-1]
    np.testing.assert_allclose(erf_kernel(erfinv_kernel(y)), y, rtol=0, atol=4e-16)
    tails = np.array([1 - 1e-12, -(1 - 1e-15), 1e-300, -1e-10])
    np.testing.assert_allclose(erf_kernel(erfinv_kernel(tails)), tails, rtol=1e-15)
    assert erfinv_kernel(np.array([1.0, -1.0, 0.0])).tolist() == [np.inf, -np.inf, 0.0]


@pytest.mark.torch
def test_erfinv_matches_torch():
    torch = pytest.importorskip("torch")
    y = np.linspace(-0.999, 0.999, 1001)
    np.testing.assert_allclose(erfinv_kernel(y), torch.erfinv(torch.tensor(y)).numpy(),
                               rtol=1e-12, atol=1e-14)
