"""Reverse-mode automatic differentiation: ``backward``, ``grad`` and the grad-mode switches.

>>> import flowgrad as fg
>>> x = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (dx,) = fg.autograd.grad((x ** 3).sum(), x, create_graph=True)
>>> dx
tensor([ 3., 12., 27.], grad_fn=<MulBackward>)
>>> fg.autograd.grad(dx.sum(), x)[0]
tensor([ 6., 12., 18.])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flowgrad.autograd.engine import run_backward
from flowgrad.autograd.mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from flowgrad.autograd.node import Node
from flowgrad.errors import ShapeError, at_user_site

__all__ = [
    "Node", "backward", "detect_anomaly", "enable_grad", "grad", "is_anomaly_enabled",
    "is_grad_enabled", "no_grad", "set_grad_enabled",
]


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, Sequence) and not hasattr(value, "_data"):
        return list(value)
    return [value]


def _seeds(what: str, outputs: list, grad_outputs: list) -> list:
    """The starting gradients: ones for scalar outputs, the user's for the others."""
    from flowgrad.tensor import Tensor, ones_like_data

    if grad_outputs and len(grad_outputs) != len(outputs):
        raise ValueError(
            f"{what}: got {len(outputs)} outputs but {len(grad_outputs)} gradients for them"
        )
    seeds = []
    for index, out in enumerate(outputs):
        given = grad_outputs[index] if grad_outputs else None
        if not out.requires_grad:
            raise RuntimeError(at_user_site(
                f"{what}: output {index} does not require grad and has no grad_fn: nothing "
                f"that produced it requires grad. Create the inputs with requires_grad=True, "
                f"and do not compute it under fg.no_grad()."
            ))
        if given is None:
            if type(out._data) is not np.ndarray and out._data.shape == ():  # a graph's loss
                from flowgrad.graph.build import full_like_node

                seeds.append(full_like_node(out, 1.0))
                continue
            if out.numel() != 1:
                raise RuntimeError(at_user_site(
                    f"{what}: grad can be implicitly created only for scalar outputs, but "
                    f"output {index} has shape {tuple(out.shape)}. Pass a gradient of that "
                    f"shape (gradient=... / grad_outputs=...) or reduce it first, e.g. "
                    f"out.sum().backward()."
                ))
            seeds.append(Tensor._wrap(ones_like_data(out._data)))
            continue
        if not isinstance(given, Tensor):
            given = Tensor._wrap(_as_array(given, out))
        if tuple(given.shape) != tuple(out.shape):
            raise ShapeError(at_user_site(
                f"{what}: gradient {index} has shape {tuple(given.shape)} but its output has "
                f"shape {tuple(out.shape)}"
            ))
        if given._data.dtype != out._data.dtype:
            given = given.to(out.dtype)  # as PyTorch: the gradient takes its output's dtype
        seeds.append(given)
    return seeds


def _as_array(value, like):
    import numpy as np

    return np.asarray(value, dtype=like._data.dtype)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate into ``.grad`` of the leaves the gradient of ``tensors`` (summed)."""
    outputs = _as_list(tensors)
    for out in outputs:
        data = out._data
        if type(data) is not np.ndarray and data.graph.traced is None:
            from flowgrad.errors import GraphError

            raise GraphError(at_user_site(
                f"backward(): {data.name!r} is a value of a graph built by hand, whose "
                f"parameters have no .grad to fill; use fg.gradients(loss, variables) or "
                f"optimizer.minimize(loss), or write the step eagerly and fg.compile it"
            ))
    seeds = _seeds("backward", outputs, _as_list(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Return the gradients of ``outputs`` with respect to ``inputs`` (``.grad`` untouched).

    With ``create_graph=True`` the result is itself differentiable (higher-order gradients).
    """
    outputs_list = _as_list(outputs)
    inputs_list = _as_list(inputs)
    for index, t in enumerate(inputs_list):
        if not t.requires_grad:
            raise RuntimeError(at_user_site(
                f"autograd.grad: input {index} (shape {tuple(t.shape)}) does not require grad; "
                f"create it with requires_grad=True or call .requires_grad_() on it"
            ))
    seeds = _seeds("autograd.grad", outputs_list, _as_list(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs_list, seeds, retain_graph=retain_graph,
                           create_graph=create_graph, targets=inputs_list)
    for index, value in enumerate(results):
        if value is None and not allow_unused:
            raise RuntimeError(at_user_site(
                f"autograd.grad: input {index} (shape {tuple(inputs_list[index].shape)}) was not "
                f"used to compute the outputs. Pass allow_unused=True to get None for it."
            ))
        if value is not None and not create_graph:
            results[index] = value.detach()
    return tuple(results)
