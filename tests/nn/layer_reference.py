"""Checks shared by the layer tests: a flowgrad layer against the same PyTorch layer with copied
weights (forward, input and parameter gradients), and gradients against central finite
differences in float64 where PyTorch is not needed.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import flowgrad as fg


def raised(fn, error=Exception):
    """Call ``fn`` and return ``(the error it raised, the caller's line)``.

    Write the call on one line, ``error, line = raised(lambda: ...)``, so the lambda's line is
    the user's line the message must name.
    """
    line = inspect.currentframe().f_back.f_lineno
    with pytest.raises(error) as info:
        fn()
    return info.value, line


def copy_weights(layer: fg.nn.Module, torch_layer) -> None:
    """Give ``layer`` the parameters and buffers of ``torch_layer`` (same names)."""
    state = {name: value.detach().numpy().copy()
             for name, value in torch_layer.state_dict().items()}
    layer.load_state_dict(state)


def compare_with_torch(layer, torch_layer, *arrays, rtol=1e-5, atol=1e-6, grad=True,
                       copy=True, seed=0):
    """Run both layers on ``arrays`` (copied weights); outputs, input gradients and parameter
    gradients agree. Returns ``(flowgrad output, torch output)``."""
    import torch

    if copy:
        copy_weights(layer, torch_layer)
    floats = [a.dtype.kind == "f" and grad for a in arrays]
    inputs = [fg.tensor(a.copy(), requires_grad=f) for a, f in zip(arrays, floats, strict=True)]
    t_inputs = [torch.tensor(a.copy(), requires_grad=f)
                for a, f in zip(arrays, floats, strict=True)]
    out = layer(*inputs)
    t_out = torch_layer(*t_inputs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                               atol=atol, err_msg="forward")
    assert out.dtype.name == str(t_out.dtype).removeprefix("torch.")
    if not grad:
        return out, t_out
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    upstream = upstream.astype(out.detach().numpy().dtype)
    out.backward(fg.tensor(upstream))
    t_out.backward(torch.tensor(upstream))
    for i, (x, t_x) in enumerate(zip(inputs, t_inputs, strict=True)):
        if t_x.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
    t_params = dict(torch_layer.named_parameters())
    for name, param in layer.named_parameters():
        t_grad = t_params[name].grad
        if t_grad is None:
            assert param.grad is None or not param.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(param.grad.numpy(), t_grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    return out, t_out


def numeric_gradient(objective, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``objective()`` with respect to ``array``, perturbed in place."""
    grad = np.zeros(array.shape)
    flat = array.reshape(-1)
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = objective()
        flat[j] = original - eps
        minus = objective()
        flat[j] = original
        grad.reshape(-1)[j] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(fn, *arrays, params=(), rtol=1e-5, atol=1e-7, seed=0):
    """``fn(*tensors)`` in float64: autograd's gradients of ``<fn(...), v>`` (v random) for
    each input and each tensor in ``params`` agree with central finite differences."""
    inputs = [fg.tensor(a, dtype=fg.float64, requires_grad=True) for a in arrays]
    for p in params:
        p.grad = None
    out = fn(*inputs)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(fg.tensor(upstream))

    def objective() -> float:
        with fg.no_grad():
            return float(np.sum(fn(*inputs).numpy() * upstream))

    for i, x in enumerate(inputs):
        expected = numeric_gradient(objective, x._data)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    for i, p in enumerate(params):
        expected = numeric_gradient(objective, p._data)
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of parameter {i}")
