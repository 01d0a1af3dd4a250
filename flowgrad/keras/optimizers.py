"""Keras optimizers (``keras.optimizers``): Keras 3's names, defaults and update rules.

A Keras optimizer holds its configuration; :meth:`Optimizer.build` gives it parameters and
creates the :mod:`flowgrad.optim` optimizer that does the work, whose update rule is Keras's
arithmetic (Adam's epsilon outside the bias correction, SGD's momentum in units of the
learning rate, ...). Around every rule, as in Keras: gradients are clipped (``clipnorm``,
``global_clipnorm`` or ``clipvalue``), then ``weight_decay`` shrinks each parameter by
``learning_rate * weight_decay`` (decoupled), then the rule runs. The rules are flowgrad
in-place operations, so a step also traces inside ``fg.compile``, where the learning rate is
an input: setting :attr:`Optimizer.learning_rate` between steps needs no retrace.

>>> import flowgrad as fg
>>> from flowgrad.keras import optimizers
>>> w = fg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = optimizers.get("sgd")
>>> opt.build([w])
>>> (w * w).sum().backward()
>>> opt.step()  # w -= 0.01 * 2w
>>> w, opt.iterations
(tensor([ 0.9800, -1.9600], requires_grad=True), 1)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from flowgrad.functions._convert import as_tensor_like
from flowgrad.keras.optimizer_rules import AdamRule, RMSpropRule, SGDRule
from flowgrad.optim import Optimizer as TorchOptimizer
from flowgrad.tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "deserialize", "get", "serialize"]


# -- the Keras optimizers ----------------------------------------------------------------------


def _number(where: str, what: str, value, optional: bool = False, upper: float | None = None):
    if value is None and optional:
        return None
    if isinstance(value, Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = (" (for a schedule, set optimizer.learning_rate between steps, e.g. from a "
                "LearningRateScheduler callback)" if what == "learning_rate" else "")
        raise TypeError(f"{where}: {what} must be a number, got {value!r}{hint}")
    if not value >= 0 or (upper is not None and value > upper):
        bounds = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise ValueError(f"{where}: {what} must be {bounds}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class of the Keras optimizers: configuration, :meth:`build`, the learning rate,
    steps (:meth:`apply_gradients`, or :meth:`step` from ``.grad``) and checkpoints.

    ``weight_decay`` (decoupled), and one of ``clipnorm`` / ``clipvalue`` /
    ``global_clipnorm``, apply to every subclass as in Keras.
    """

    def __init__(self, learning_rate: float, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None) -> None:
        where = type(self).__name__
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clips.values()) > 1:
            raise ValueError(f"{where}: only one of clipnorm, clipvalue and global_clipnorm "
                             f"can be set, got {clips}")
        self.name = name or where.lower()
        self._config: dict[str, Any] = {
            "learning_rate": _number(where, "learning_rate", learning_rate),
            "weight_decay": _number(where, "weight_decay", weight_decay, optional=True),
            **{key: _number(where, key, value, optional=True) for key, value in clips.items()},
        }
        self._torch: TorchOptimizer | None = None
        self._excluded: tuple[set[int], tuple[str, ...]] = (set(), ())
        self._pending_state: dict[str, Any] | None = None

    def _make_rule(self, groups: list[dict], lr: float, weight_decay: float) -> TorchOptimizer:
        """The flowgrad optimizer that runs this one's update rule."""
        raise NotImplementedError(f"{type(self).__name__} does not define _make_rule()")

    # -- building --------------------------------------------------------------------------

    def build(self, params: Iterable[Tensor]) -> None:
        """Create the flowgrad optimizer for ``params`` (a model's trainable parameters); the
        parameters excluded from weight decay go in a group of their own."""
        params = list(params)
        if self._torch is not None:
            built = [p for group in self._torch.param_groups for p in group["params"]]
            if {id(p) for p in built} == {id(p) for p in params}:
                return
            raise ValueError(f"{type(self).__name__}: already built on {len(built)} parameters; "
                             f"make a new optimizer for other parameters")
        ids, names = self._excluded
        excluded = [p for p in params if id(p) in ids
                    or any(n in str(getattr(p, "name", "")) for n in names)]
        decayed = [p for p in params if not any(p is q for q in excluded)]
        groups = [{"params": decayed}] if decayed else []
        if excluded:
            groups.append({"params": excluded, "decay": False})
        config = self._config
        rule = self._make_rule(groups, config["learning_rate"], config["weight_decay"] or 0.0)
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            setattr(rule, key, config[key])
        self._torch = rule
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    @property
    def built(self) -> bool:
        return self._torch is not None

    @property
    def flowgrad_optimizer(self) -> TorchOptimizer | None:
        """The :mod:`flowgrad.optim` optimizer doing the updates (``None`` before build)."""
        return self._torch

    def exclude_from_weight_decay(self, var_list: Iterable[Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Leave these parameters (or those whose ``name`` contains one of ``var_names``)
        out of weight decay; call it before :meth:`build`."""
        if self.built:
            raise ValueError(f"{type(self).__name__}: exclude_from_weight_decay() must be "
                             f"called before build()")
        self._excluded = ({id(p) for p in var_list or ()}, tuple(var_names or ()))

    # -- hyper-parameters ------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        """The learning rate; setting it changes the next steps (compiled ones too)."""
        if self._torch is not None:
            rate = self._torch.param_groups[0]["lr"]
            if isinstance(rate, numbers.Real):
                return float(rate)
        return self._config["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = _number(type(self).__name__, "learning_rate", value)
        self._config["learning_rate"] = value
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = value

    @property
    def iterations(self) -> int:
        """The number of steps taken (each parameter counts its own; this is the most)."""
        if self._torch is None:
            return 0
        counts = [entry["step"]._data for entry in self._torch.state.values() if "step" in entry]
        return int(max((float(c) for c in counts if hasattr(c, "dtype")), default=0))

    @property
    def variables(self) -> list[Tensor]:
        """The optimizer's state tensors (moments, step counts), parameter by parameter."""
        if self._torch is None:
            return []
        return [value for group in self._torch.param_groups for param in group["params"]
                for value in self._torch.state.get(param, {}).values()
                if isinstance(value, Tensor)]

    # -- stepping --------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Tensor]]) -> int:
        """One step from ``(gradient, parameter)`` pairs (a gradient may be ``None``: that
        parameter is skipped); builds the optimizer on first use. Returns the step count."""
        pairs = list(grads_and_vars)
        if self._torch is None:
            self.build([param for _, param in pairs])
        group_of = {id(p): group for group in self._torch.param_groups for p in group["params"]}
        updates = []
        for grad, param in pairs:
            group = group_of.get(id(param))
            if group is None:
                raise ValueError(f"{type(self).__name__}: got a gradient for a parameter of "
                                 f"shape {tuple(param.shape)} that the optimizer was not built "
                                 f"with; build it on every parameter it will update")
            if grad is not None:
                updates.append((param, as_tensor_like(grad).detach().to(param.dtype), group))
        self._torch.apply(updates)
        return self.iterations

    def apply(self, grads: list, trainable_variables: Iterable[Tensor] | None = None) -> int:
        """Keras 3's form of :meth:`apply_gradients`: gradients in the order of the
        parameters (those given, or those the optimizer was built with)."""
        if trainable_variables is None:
            if self._torch is None:
                raise ValueError(f"{type(self).__name__}: pass trainable_variables, or build() "
                                 f"the optimizer first")
            trainable_variables = [p for g in self._torch.param_groups for p in g["params"]]
        variables = list(trainable_variables)
        if len(variables) != len(grads):
            raise ValueError(f"{type(self).__name__}: got {len(grads)} gradients for "
                             f"{len(variables)} parameters")
        return self.apply_gradients(zip(grads, variables, strict=True))

    def step(self) -> None:
        """One step from the parameters' ``.grad`` (after ``loss.backward()``)."""
        if self._torch is None:
            raise ValueError(f"{type(self).__name__}: build(parameters) before step()")
        self._torch.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients."""
        if self._torch is not None:
            self._torch.zero_grad(set_to_none)

    # -- saving ----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (the current learning rate included)."""
        return {"name": self.name, **self._config, "learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """An optimizer (not yet built) made from :meth:`get_config`'s dict."""
        return cls(**config)

    def state_dict(self) -> dict[str, Any]:
        """The flowgrad optimizer's state dict (moments, step counts, hyper-parameters)."""
        if self._torch is None:
            return {"state": {}, "param_groups": []}
        return self._torch.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s result; before build, it is kept until build."""
        if self._torch is None:
            self._pending_state = state_dict
        elif state_dict.get("param_groups") or state_dict.get("state"):
            self._torch.load_state_dict(state_dict)
            self._config["learning_rate"] = self.learning_rate

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                              if v is not None)
        return f"{type(self).__name__}({arguments})"


class SGD(Optimizer):
    """Gradient descent, with momentum ``m = momentum * m - lr * g; p += m`` (Nesterov:
    ``p += momentum * m - lr * g``), as Keras computes it."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "SGD") -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self._config["momentum"] = _number("SGD", "momentum", momentum, upper=1.0)
        self._config["nesterov"] = bool(nesterov)

    def _make_rule(self, groups: list[dict], lr: float, weight_decay: float) -> TorchOptimizer:
        momentum = self._config["momentum"]
        return SGDRule(groups, lr=lr, momentum=momentum, weight_decay=weight_decay,
                        nesterov=self._config["nesterov"] and momentum > 0)


class Adam(Optimizer):
    """Adam as Keras computes it: epsilon is added to ``sqrt(v)`` before the bias
    correction, ``p -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps)``."""

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        where = type(self).__name__
        self._config.update(beta_1=_number(where, "beta_1", beta_1, upper=1.0),
                            beta_2=_number(where, "beta_2", beta_2, upper=1.0),
                            epsilon=_number(where, "epsilon", epsilon), amsgrad=bool(amsgrad))

    def _make_rule(self, groups: list[dict], lr: float, weight_decay: float) -> TorchOptimizer:
        config = self._config
        return AdamRule(groups, lr=lr, betas=(config["beta_1"], config["beta_2"]),
                         eps=config["epsilon"], weight_decay=weight_decay,
                         amsgrad=config["amsgrad"])


class AdamW(Adam):
    """Adam with weight decay on by default (``weight_decay=0.004``, decoupled)."""

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number (use Adam for none)")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name)


class RMSprop(Optimizer):
    """RMSprop as Keras computes it: ``v = rho * v + (1 - rho) * g**2`` from zero, and
    ``p -= lr * g / sqrt(v + epsilon)`` (epsilon inside the root), with optional momentum and
    centering."""

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self._config.update(rho=_number("RMSprop", "rho", rho, upper=1.0),
                            momentum=_number("RMSprop", "momentum", momentum, upper=1.0),
                            epsilon=_number("RMSprop", "epsilon", epsilon),
                            centered=bool(centered))

    def _make_rule(self, groups: list[dict], lr: float, weight_decay: float) -> TorchOptimizer:
        config = self._config
        return RMSpropRule(groups, lr=lr, alpha=config["rho"], eps=config["epsilon"],
                            weight_decay=weight_decay, momentum=config["momentum"],
                            centered=config["centered"])


# -- looking optimizers up by name -------------------------------------------------------------

_CLASSES: dict[str, type[Optimizer]] = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop)}
_BY_LOWER_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, any case;
    Keras's defaults), a ``{"class_name", "config"}`` dict, or an optimizer (returned as is).

    >>> from flowgrad.keras import optimizers
    >>> optimizers.get("Adam").get_config()["epsilon"]
    1e-07
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_LOWER_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}; valid names are: "
                             f"{', '.join(sorted(_BY_LOWER_NAME))} (any case)")
        return cls()
    raise TypeError(f"Could not interpret an optimizer from {identifier!r}; pass a name such "
                    f"as 'adam', a keras optimizer or its config dict")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, for :func:`deserialize`."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """The optimizer :func:`serialize` described (not yet built)."""
    cls = _BY_LOWER_NAME.get(str(config.get("class_name", "")).lower())
    if cls is None:
        raise ValueError(f"deserialize: unknown optimizer class {config.get('class_name')!r}; "
                         f"valid classes are: {', '.join(_CLASSES)}")
    return cls.from_config(dict(config.get("config") or {}))
