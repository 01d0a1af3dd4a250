"""The :class:`Optimizer` base class: parameter groups, per-parameter state, ``step``,
``zero_grad`` and ``state_dict``.

A subclass defines only its defaults, :meth:`Optimizer.init_state` (the per-parameter state)
and :meth:`Optimizer.update` (the update rule for one parameter, written with flowgrad in-place
operations). The base class does the rest: it walks the groups and the parameters that have a
gradient, creates state on first use, negates the gradient for ``maximize`` and runs the update
under ``no_grad``. Because update rules are flowgrad operations on tensors (the step counter
too), a graph tracer can record ``step()`` as assignments to parameters and state.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from flowgrad.autograd import enable_grad, no_grad
from flowgrad.errors import ShapeError, at_user_site
from flowgrad.tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]

# Hyper-parameters checked by name for every optimizer, in every group (constructor,
# add_param_group, load_state_dict): a bad value is an error before anything changes.
_NON_NEGATIVE = ("lr", "eps", "weight_decay", "momentum", "alpha", "lr_decay",
                 "initial_accumulator_value")


def step_counter() -> Tensor:
    """A fresh step count: a 0-d float64 tensor, so bias corrections computed from it keep
    double precision, and a traced step updates it like any other state."""
    return Tensor._wrap(np.zeros((), dtype=np.float64))


def advance(counter: Tensor) -> float | Tensor:
    """Count one more step and return the count for an update rule's scalar arithmetic.

    For a concrete counter that is a Python float, so bias corrections and decayed rates cost
    no tensor operations (as PyTorch's CPU optimizers compute them); a symbolic counter is
    returned as it is, so a traced step keeps counting. Rules write their scalar arithmetic so
    that it works with either.
    """
    counter.add_(1)
    data = counter._data
    return float(data) if isinstance(data, np.ndarray) else counter


class Optimizer:
    """Base class of optimizers: holds ``param_groups`` and per-parameter ``state``.

    ``params`` is an iterable of tensors, or of dicts with a ``'params'`` entry and
    hyper-parameters that override ``defaults`` for that group.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, 2.0], requires_grad=True)
    >>> b = fg.tensor([0.5], requires_grad=True)
    >>> opt = fg.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    >>> (w.sum() + b.sum()).backward()
    >>> opt.step()
    >>> w, b
    (tensor([0.9000, 1.9000], requires_grad=True), tensor([0.], requires_grad=True))
    """

    def __init__(self, params: ParamsT | None, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if params is None:  # graph mode: minimize(loss) finds the trainable variables
            self._check_hyperparameters(self.defaults, 0)
            return
        if isinstance(params, Tensor | dict):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors or of dicts (parameter "
                f"groups), got a single {type(params).__name__}; wrap it in a list"
            )
        groups = self._as_list(params, "params")
        if not groups:
            raise ValueError(
                f"{self._name}: got an empty parameter list; pass the parameters to optimize, "
                f"e.g. model.parameters()"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- what a subclass defines ----------------------------------------------------------

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of ``param`` before its first update (tensors shaped like it, a step
        count), made on the first step where ``param`` has a gradient and no state yet."""
        return {}

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """Update ``param`` (and ``state``) in place from ``grad``; runs under ``no_grad``."""
        raise NotImplementedError(f"{self._name} does not define update()")

    def graph_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of ``param`` in graph mode, where every entry is a variable that exists
        before the first step (``init_state`` unless a rule starts its state lazily)."""
        return self.init_state(param, group)

    # -- stepping -------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, re-evaluates the
        model and returns the loss (with gradients recorded); its result is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                maximize = group.get("maximize", False)
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.shape != param.shape:
                        raise ShapeError(at_user_site(
                            f"{self._name}.step: a parameter of shape {param.shape} has a .grad "
                            f"of shape {grad.shape}; gradients must have the parameter's shape"
                        ))
                    if maximize:
                        grad = -grad
                    state = self.state[param]
                    if not state:
                        state.update(self.init_state(param, group))
                    self.update(param, grad, state, group)
        return loss

    def minimize(self, loss: Tensor, var_list=None, *, name: str | None = None) -> Tensor:
        """Graph mode: the train op that applies one update of this optimizer to
        ``var_list`` (default: the graph's trainable variables) from the gradients of
        ``loss``, as TF-1's ``optimizer.minimize``. Run it with ``Session.run``."""
        from flowgrad.optim.graph_mode import minimize

        return minimize(self, loss, var_list, name)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: drop them (default), or fill them with zeros in place."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    grad.detach_()
                    with no_grad():
                        grad.zero_()

    # -- parameter groups -----------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'``), e.g. layers unfrozen during
        fine-tuning; hyper-parameters it leaves out take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict with 'params', "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        index = len(self.param_groups)
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else self._as_list(params, "'params'")
        seen: dict[int, int] = {}
        for position, param in enumerate(params):
            self._check_param(param, index, position)
            if id(param) in seen:
                raise ValueError(
                    f"{self._name}: parameter group {index} lists a parameter twice (at "
                    f"positions {seen[id(param)]} and {position}); give each parameter once"
                )
            seen[id(param)] = position
        for other_index, other in enumerate(self.param_groups):
            if any(id(p) in seen for p in other["params"]):
                raise ValueError(
                    f"{self._name}: a parameter of the new group is already in parameter group "
                    f"{other_index}; a parameter can belong to one group only"
                )
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group, index)
        self.param_groups.append(group)

    # -- checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout: ``{'state': {index: {...}},
        'param_groups': [{..., 'params': [indices]}]}``; parameters are numbered across the
        groups in order. State tensors are the optimizer's own (not copies), as in PyTorch."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            indices = []
            for param in group["params"]:
                indices.append(index_of.setdefault(id(param), len(index_of)))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": indices})
        state = {index_of[id(param)]: dict(values)
                 for param, values in self.state.items() if values and id(param) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state saved by :meth:`state_dict`, copying its tensors. Everything is
        checked first (group count and sizes, state shapes, hyper-parameters): on a mismatch
        this raises and the optimizer is unchanged."""
        where = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups' (as "
                             f"returned by state_dict()), got {type(state_dict).__name__}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: the state dict has {len(saved_groups)} parameter groups but the "
                f"optimizer has {len(self.param_groups)}"
            )
        param_at: dict[Any, Tensor] = {}
        new_groups = []
        for index, (saved, group) in enumerate(zip(saved_groups, self.param_groups,
                                                   strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{where}: parameter group {index} has {len(saved['params'])} parameters "
                    f"in the state dict but {len(group['params'])} in the optimizer"
                )
            param_at.update(zip(saved["params"], group["params"], strict=True))
            new_group = {**{k: v for k, v in saved.items() if k != "params"},
                         "params": group["params"]}
            self._check_hyperparameters(new_group, index)
            new_groups.append(new_group)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index not in param_at:
                raise ValueError(f"{where}: the state dict has state for parameter {index!r}, "
                                 f"which none of its parameter groups lists")
            param = param_at[index]
            new_state[param] = {key: self._copy_state_value(where, index, key, value, param)
                                for key, value in values.items()}
        self.param_groups = new_groups
        self.state = new_state

    def _copy_state_value(self, where: str, index, key: str, value, param: Tensor):
        if isinstance(value, np.ndarray):
            value = Tensor._wrap(value)
        if not isinstance(value, Tensor):
            return copy.deepcopy(value)
        if value.ndim and value.shape != param.shape:
            raise ShapeError(
                f"{where}: state {key!r} of parameter {index} has shape {value.shape}, but the "
                f"parameter has shape {param.shape}"
            )
        value = value.detach()
        if key != "step" and value.is_floating_point():
            value = value.to(param.dtype)  # as PyTorch: state follows its parameter's dtype
        return Tensor._wrap(value._data.copy())

    # -- checks and helpers ---------------------------------------------------------------

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _as_list(self, values, what: str) -> list:
        if isinstance(values, set | frozenset):
            raise TypeError(f"{self._name}: {what} must be an ordered iterable (a list or a "
                            f"generator), not a set: the order of parameters must not vary")
        try:
            return list(values)
        except TypeError:
            raise TypeError(f"{self._name}: {what} must be an iterable of tensors, got "
                            f"{type(values).__name__}") from None

    def _check_param(self, param, group_index: int, position: int) -> None:
        where = f"parameter group {group_index}, position {position}"
        if not isinstance(param, Tensor):
            raise TypeError(f"{self._name}: {where} is a {type(param).__name__}, not a tensor")
        if not param.is_leaf:
            raise ValueError(
                f"{self._name}: {where} is not a leaf tensor (it was computed by "
                f"{param.grad_fn.name()}); optimize the tensor it came from, or make a leaf "
                f"with .detach().requires_grad_()"
            )
        if not param.is_floating_point():
            raise TypeError(f"{self._name}: {where} has dtype {param.dtype}; only "
                            f"floating-point tensors can be optimized")

    def _check_hyperparameters(self, group: dict[str, Any], index: int) -> None:
        for key in _NON_NEGATIVE:
            value = group.get(key)
            if value is not None and not value >= 0:
                raise ValueError(f"{self._name}: {key} must be >= 0, got {value!r} (parameter "
                                 f"group {index})")
        betas = group.get("betas")
        if betas is not None and (len(betas) != 2 or not all(0 <= b < 1 for b in betas)):
            raise ValueError(f"{self._name}: betas must be two numbers in [0, 1), got "
                             f"{betas!r} (parameter group {index})")

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)
