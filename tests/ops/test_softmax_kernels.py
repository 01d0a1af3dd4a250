"""log_softmax hands its exponentials to the exp of its own output, and to nothing else."""

import numpy as np

import flowgrad as fg
from flowgrad.ops import softmax as kernels


def test_the_exponentials_serve_only_the_output_they_belong_to():
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    out = kernels._log_softmax_kernel(x, 1)
    other = kernels._log_softmax_kernel(x * 2, 1)  # the kept entry is now other's
    np.testing.assert_allclose(kernels._exp_kernel(out), np.exp(out), rtol=1e-6)  # by exp
    assert kernels._LAST.entry is not None
    from_kept = kernels._exp_kernel(other)
    assert kernels._LAST.entry is None  # taken once
    np.testing.assert_allclose(from_kept, np.exp(other), rtol=1e-6)
    np.testing.assert_allclose(from_kept.sum(axis=1), 1.0, rtol=1e-6)
    with fg.no_grad():
        kernels._log_softmax_kernel(x, 1)
    assert kernels._LAST.entry is None  # inference keeps nothing


def test_softmax_and_its_gradients_are_unchanged():
    x = fg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    probabilities = fg.softmax(x, dim=1)
    weights = fg.tensor(np.arange(12.0).reshape(3, 4))
    (grad,) = fg.autograd.grad((probabilities * weights).sum(), [x])
    p, w = np.exp(x.detach().numpy()), weights.numpy()
    p /= p.sum(axis=1, keepdims=True)
    expected = p * (w - (p * w).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-10)  # (second order: op table)
