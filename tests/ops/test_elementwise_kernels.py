"""Fast paths inside elementwise kernels give exactly what the plain NumPy call gives."""

import numpy as np
import pytest

from flowgrad.ops.elementwise import _clip_kernel, _where_kernel


@pytest.mark.parametrize("size", [10, 4096 * 2, 4096 * 2 + 7])  # small, BLAS-summed, odd
@pytest.mark.parametrize("bad", [None, np.inf, -np.inf, np.nan])
def test_where_against_zero_is_exact_even_with_infinities(size, bad):
    rng = np.random.default_rng(0)
    kept = rng.standard_normal(size).astype(np.float32)
    condition = rng.random(size) > 0.5
    if bad is not None:
        kept[np.flatnonzero(~condition)[0]] = bad  # dropped: must give 0, not inf * 0
        kept[np.flatnonzero(condition)[0]] = bad  # kept: must stay
    expected = np.where(condition, kept, np.float32(0))
    np.testing.assert_array_equal(_where_kernel(condition, kept, np.float32(0)), expected)
    np.testing.assert_array_equal(_where_kernel(~condition, np.float32(0), kept),
                                  np.where(~condition, np.float32(0), kept))


@pytest.mark.parametrize("size", [10, 1 << 15])  # below and above the np.clip threshold
@pytest.mark.parametrize(("low", "high"), [(0, None), (None, 1.5), (-0.5, 0.5)])
def test_clip_paths_agree_with_numpy(size, low, high):
    x = np.random.default_rng(1).standard_normal(size).astype(np.float32)
    x[0] = np.nan
    np.testing.assert_array_equal(_clip_kernel(x, low, high), np.clip(
        x, -np.inf if low is None else low, np.inf if high is None else high))
