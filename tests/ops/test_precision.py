"""Kernels that must stay accurate where the textbook formula loses precision."""

import math

import numpy as np

import flowgrad as fg


def test_sigmoid_keeps_relative_precision_in_the_negative_tail():
    x = np.array([-80.0, -40.0, -20.0, -5.0, 0.0, 5.0, 40.0])
    exact = np.array([1.0 / (1.0 + math.exp(-v)) for v in x])
    for dtype, rtol in ((fg.float64, 1e-14), (fg.float32, 1e-6)):
        got = fg.sigmoid(fg.tensor(x, dtype=dtype)).numpy().astype(np.float64)
        np.testing.assert_allclose(got, exact, rtol=rtol, atol=0, err_msg=str(dtype))


def test_log_softmax_of_large_logits_is_finite_and_exact():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]])
    shifted = x - x.max(axis=1, keepdims=True)
    exact = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(fg.log_softmax(fg.tensor(x), dim=1).numpy(), exact, rtol=1e-12)
