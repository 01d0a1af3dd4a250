"""``optimizer.minimize(loss)``: an optimizer's own update rule, built into a graph.

The rule (``Optimizer.update``) runs once on symbolic tensors: the gradients come from
:func:`flowgrad.gradients`, the state lives in non-trainable variables (``w/exp_avg``, ...), and
each in-place update becomes an assignment. So a graph trains with exactly the arithmetic of an
eager ``step()``.
"""

from __future__ import annotations

import numpy as np

from flowgrad import graph as G
from flowgrad.autograd import no_grad
from flowgrad.errors import GraphError, at_user_site
from flowgrad.tensor import Tensor


def minimize(optimizer, loss, var_list, name: str | None) -> Tensor:
    if not G.is_symbolic(loss):
        raise TypeError(at_user_site(
            f"{type(optimizer).__name__}.minimize: loss must be a symbolic tensor of a graph; "
            f"in eager mode call loss.backward() and optimizer.step()"
        ))
    graph = loss._data.graph
    variables = list(var_list) if var_list is not None else G.trainable_variables(graph)
    for var in variables:
        if not isinstance(var, G.Variable):
            raise TypeError(at_user_site(
                f"{type(optimizer).__name__}.minimize: var_list must hold Variables, got "
                f"{type(var).__name__}"
            ))
    if not variables:
        raise GraphError(at_user_site(
            f"{type(optimizer).__name__}.minimize: the graph has no trainable variables"
        ))
    # A captured eager parameter is what the loss was built from: differentiate against it.
    grads = G.gradients(loss, [v.storage if v.storage is not None else v for v in variables])
    scope = name or type(optimizer).__name__
    updates = []
    with no_grad(), graph.name_scope(scope):
        for var, grad in zip(variables, grads, strict=True):
            if grad is None:
                continue
            group = _group_of(optimizer, var)
            if group.get("maximize", False):
                grad = -grad
            state = {key: value.proxy() if isinstance(value, G.Variable) else value
                     for key, value in _slots(optimizer, var, group).items()}
            param = var.proxy()
            optimizer.update(param, grad, state, group)
            updates.extend(t for t in (param, *state.values())
                           if isinstance(t, Tensor) and G.is_symbolic(t)
                           and t._data.op == "assign")
    if not updates:
        raise GraphError(at_user_site(
            f"{type(optimizer).__name__}.minimize: the loss does not depend on any of the "
            f"variables {[v.name for v in variables]}"
        ))
    return G.group(*updates, name=f"{scope}/minimize")


def _group_of(optimizer, var) -> dict:
    target = var.storage if var.storage is not None else var
    for group in optimizer.param_groups:
        if any(p is target or p is var for p in group["params"]):
            return group
    return optimizer.defaults


def _slots(optimizer, var, group: dict) -> dict:
    """The optimizer's state for ``var``, as variables (made on the first ``minimize``)."""
    slots = optimizer.state.get(var)
    if slots:
        return slots
    shape, dtype = var._data.shape, var._data.dtype
    if shape is not None and None not in shape:
        stand_in = Tensor._wrap(np.zeros(shape, dtype))  # initial values need no variable read
    elif var.initial_value is not None:
        stand_in = var.initial_value
    else:
        stand_in = Tensor._wrap(np.zeros_like(var.storage._data))
    slots = {}
    for key, value in optimizer.graph_state(stand_in, group).items():
        if isinstance(value, Tensor):
            value = G.Variable(value.detach(), name=f"{var.name}/{key}", trainable=False,
                               graph=var.graph)
        slots[key] = value
    optimizer.state[var] = slots
    return slots
