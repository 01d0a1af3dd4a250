"""The :class:`Module`: a layer or a model, holding parameters, buffers and submodules.

Assigning a :class:`~flowgrad.nn.Parameter`, a :class:`Module` or a registered buffer to an
attribute registers it, so ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and
``to()`` reach everything a model holds, as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from flowgrad import dtypes
from flowgrad.autograd.mode import no_grad
from flowgrad.errors import ShapeError
from flowgrad.tensor import Parameter, Tensor


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model.

    >>> import flowgrad as fg
    >>> class Affine(fg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = fg.nn.Parameter(fg.ones(2))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale']
    >>> m(fg.tensor([1.0, 2.0]))
    tensor([1., 2.], grad_fn=<MulBackward>)
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # -- calling --------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, ...) in the subclass"
        )

    def __call__(self, *args, **kwargs):
        for arg in args:
            if isinstance(arg, Tensor) and type(arg._data) is not np.ndarray:
                return self._call_in_graph(arg._data.graph, args, kwargs)
        return self._call(args, kwargs)

    def _call_in_graph(self, graph, args, kwargs):
        """Apply the module to symbolic inputs: for the call, every parameter and buffer is
        the graph variable that shares its memory, so all the module computes (a weight's
        transpose too) becomes nodes, and gradients reach the parameters."""
        from flowgrad.graph.variables import capture

        swapped = []
        try:
            for tensor in (*self.parameters(), *self.buffers()):
                if type(tensor._data) is np.ndarray:
                    swapped.append((tensor, tensor._data))
                    tensor._data = capture(graph, tensor)._data
            result = self._call(args, kwargs)
            updates = [t._data for t, _ in swapped if t._data.op == "assign"]
            return _after(result, updates) if updates else result
        finally:
            for tensor, data in swapped:
                tensor._data = data

    def _call(self, args, kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in tuple(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        result = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            replaced = hook(self, args, result)
            if replaced is not None:
                result = replaced
        return result

    def register_forward_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(module, inputs, output)`` after every forward; it may replace the output."""
        return _HookHandle.add(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(module, inputs)`` before every forward; it may replace the inputs."""
        return _HookHandle.add(self._forward_pre_hooks, hook)

    # -- registration ---------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called; call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (expected fg.nn.Parameter or None)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as submodule {name!r} of "
                    f"{type(self).__name__} (expected a Module or None)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} of "
                    f"{type(self).__name__} (expected a Tensor or None)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and submodules live here.
        registries = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            found = registries.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared but absent parameter) under ``name``."""
        _check_name(self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a fg.nn.Parameter or None, got "
                f"{type(param).__name__}"
            )
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (running means, masks).

        Persistent buffers are part of ``state_dict()``."""
        _check_name(self, name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a submodule named ``name``."""
        _check_name(self, name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path such as ``"encoder.layers.0"``."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r}")
        return module._parameters[name]

    # -- traversal ------------------------------------------------------------------------

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every submodule below it, with dotted names (each once)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                            remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs; a shared (tied) parameter appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- modes and conversions ------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on this module and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter (to None, or to zeros in place)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                with no_grad():
                    param.grad.zero_()

    def to(self, *args, dtype=None, device=None) -> Module:
        """Convert floating-point parameters and buffers to ``dtype`` in place ('cpu' is a
        no-op device)."""
        for arg in args:
            if isinstance(arg, str) or type(arg).__name__ == "Device":
                from flowgrad.device import Device

                Device(str(arg))
            else:
                dtype = arg
        if device is not None:
            from flowgrad.device import Device

            Device(str(device))
        if dtype is None:
            return self
        target = dtypes.as_dtype(dtype)
        if not target.is_floating_point:
            raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {target}")
        for tensor in (*self.parameters(), *self.buffers()):
            if tensor._data.dtype.kind == "f":
                tensor._data = tensor._data.astype(target.np)
                tensor._bump_version()
                if tensor.grad is not None:
                    tensor.grad._data = tensor.grad._data.astype(target.np)
        return self

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def cpu(self) -> Module:
        return self

    # -- state dict -----------------------------------------------------------------------

    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name (sharing memory; detached
        unless ``keep_vars``)."""
        state = OrderedDict() if destination is None else destination
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            dotted = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dotted + name] = param if keep_vars else param.detach()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[dotted + name] = buffer if keep_vars else buffer.detach()
        return state

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Everything is checked before anything is copied: with ``strict``, missing and
        unexpected keys are an error; a value whose shape differs is always an error. On error
        the module is unchanged.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != target._data.shape:
                problems.append(
                    f"size mismatch for {key}: the checkpoint has shape {tuple(array.shape)}, "
                    f"the model has shape {tuple(target._data.shape)}"
                )
            values[key] = array
        if problems:
            error = ShapeError if not missing and not unexpected else RuntimeError
            raise error(
                f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
                + ". Nothing was loaded."
            )
        for key, array in values.items():
            target = own[key]
            target._data[...] = array.astype(target._data.dtype, copy=False)
            target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer's settings, shown inside its ``repr`` (``in_features=2, ...``)."""
        return ""

    def __repr__(self) -> str:
        extra = [line for line in self.extra_repr().split("\n") if line]
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self._modules.items()]
        if len(extra) == 1 and not children:
            return f"{type(self).__name__}({extra[0]})"
        if not extra and not children:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra + children) + "\n)"


def _after(result, updates: list):
    """``result`` (a tensor, or the tensors of a tuple) made to depend on ``updates``: the
    in-place updates a module made to its buffers run whenever its output is computed."""
    from flowgrad.ops.shape import after

    if isinstance(result, Tensor):
        effects = [Tensor._wrap(node) for node in updates]
        return after.bind(result, *effects)
    if isinstance(result, tuple):
        return tuple(_after(item, updates) for item in result)
    return result


class _HookHandle:
    """Returned by ``register_*_hook``; ``remove()`` takes the hook away."""

    _next_id = 0

    def __init__(self, registry: dict, key: int) -> None:
        self._registry = registry
        self._key = key

    @classmethod
    def add(cls, registry: dict, hook: Callable) -> _HookHandle:
        key = cls._next_id
        cls._next_id += 1
        registry[key] = hook
        return cls(registry, key)

    def remove(self) -> None:
        self._registry.pop(self._key, None)

    def __enter__(self) -> _HookHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _check_name(module: Module, name: str) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{type(module).__name__}: invalid name {name!r} (a non-empty string "
                       f"without dots)")
    if name in module.__dict__ and name not in module._parameters | module._buffers | \
            module._modules:
        raise KeyError(f"{type(module).__name__}: attribute {name!r} already exists")
