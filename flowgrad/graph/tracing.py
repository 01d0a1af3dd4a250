"""What a trace reads and writes: the state a function touches, swapped for graph variables.

Tracing runs the user's function once on symbolic inputs. The state it reads — the
parameters and buffers of the modules it uses, the parameters, gradients and state of its
optimizers, the tensors it names — must be graph values too, or an operation on them alone
would compute at trace time and be baked in. :func:`discover` finds that state (the modules,
optimizers and tensors the function names, through its closure and globals); :class:`Swap`
points each such tensor at the graph variable that shares its memory for the length of the
trace, and puts everything back afterwards.
"""

from __future__ import annotations

import inspect
import types

import numpy as np

from flowgrad.dtypes import float64
from flowgrad.graph.build import placeholder
from flowgrad.graph.ir import Graph
from flowgrad.graph.variables import capture
from flowgrad.tensor import Tensor


def discover(fn, args: list) -> tuple[list, list, list]:
    """The modules, optimizers and tensors that ``fn`` (its closure, the globals its code
    names, the object it is bound to) and ``args`` refer to."""
    from flowgrad.nn.module import Module
    from flowgrad.optim.optimizer import Optimizer

    found: dict[int, object] = {}
    wanted = (Module, Optimizer, Tensor)

    def visit(obj, depth: int = 0) -> None:
        if isinstance(obj, wanted):
            found.setdefault(id(obj), obj)
        elif isinstance(obj, list | tuple | dict) and depth < 2:
            for item in obj.values() if isinstance(obj, dict) else obj:
                visit(item, depth + 1)
        elif depth < 1 and _plain_object(obj):  # a trainer object holding model/optimizer
            for item in vars(obj).values():
                visit(item, depth + 1)

    for obj in (*_referenced(fn), *args):
        visit(obj)
    modules = [o for o in found.values() if isinstance(o, Module)]
    optimizers = [o for o in found.values() if isinstance(o, Optimizer)]
    tensors = [o for o in found.values() if isinstance(o, Tensor)]
    return modules, optimizers, tensors


def stored_tracers(fn, graph: Graph) -> bool:
    """Whether a list or dict that ``fn`` names now holds a tensor of ``graph``: a trace
    that appended its values somewhere (which later calls, replaying, will not do)."""
    for obj in _referenced(fn):
        if isinstance(obj, list | dict):
            items = obj.values() if isinstance(obj, dict) else obj
            if any(isinstance(item, Tensor) and getattr(item._data, "graph", None) is graph
                   for item in items):
                return True
    return False


def _plain_object(obj) -> bool:
    """An instance of a user's class (not a module, class, function or builtin value)."""
    return (hasattr(obj, "__dict__") and not isinstance(obj, type | types.ModuleType)
            and not callable(obj) and type(obj).__module__ != "builtins")


def _referenced(fn) -> list:
    """The objects ``fn`` can reach by name: its closure, its default arguments, the globals
    its code (and the code of functions nested in it) names, and ``self`` of a bound method
    or module."""
    from flowgrad.nn.module import Module

    objects = []
    if isinstance(fn, Module):
        objects.append(fn)
        fn = type(fn).forward
    if inspect.ismethod(fn):
        objects.append(fn.__self__)
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if code is None:
        return objects
    objects.extend(cell.cell_contents for cell in (fn.__closure__ or ())
                   if _filled(cell))
    objects.extend(fn.__defaults__ or ())
    objects.extend((fn.__kwdefaults__ or {}).values())
    names = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    objects.extend(fn.__globals__[name] for name in names if name in fn.__globals__)
    return objects


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018  (an empty cell raises)
    except ValueError:
        return False
    return True


class Swap:
    """For one trace: every state tensor points at its graph variable; ``restore`` undoes
    it. Optimizer learning rates become inputs (a scheduler changes them between calls)."""

    def __init__(self, graph: Graph, modules: list, optimizers: list, tensors: list) -> None:
        self.graph = graph
        self.swapped: list[tuple[Tensor, np.ndarray]] = []
        self.grads: list[tuple[Tensor, object]] = []  # parameter -> .grad before the trace
        self.rates: list[tuple[dict, float, Tensor]] = []  # group, its lr, the placeholder
        self._fed_rates: list | None = None  # the rates last fed, and their arrays
        self._fed: list[np.ndarray] = []
        # what each optimizer's state holds before the trace: anything the trace adds is
        # state made lazily (a first momentum step), which must exist eagerly; see restore
        self._state_before = [(optimizer, {param: set(entry) for param, entry
                                           in optimizer.state.items()})
                              for optimizer in optimizers]
        self.made_state = False
        seen: set[int] = set()
        state = [*tensors]
        for module in modules:
            state.extend(module.parameters())
            state.extend(module.buffers())
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                state.extend(group["params"])
            for entry in optimizer.state.values():
                state.extend(v for v in entry.values() if isinstance(v, Tensor))
        params = list({id(t): t for t in state if t._rg and t.grad_fn is None}.values())
        state.extend(p.grad for p in params if isinstance(p.grad, Tensor))
        for tensor in state:
            if id(tensor) in seen or type(tensor._data) is not np.ndarray:
                continue
            seen.add(id(tensor))
            variable = capture(graph, tensor)
            self.swapped.append((tensor, tensor._data))
            tensor._data = variable._data
        self.grads = [(p, p.grad) for p in params]
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                rate = group["lr"]
                if isinstance(rate, int | float):
                    with graph.as_default():
                        fed = placeholder(float64, shape=(), name="lr")
                    fed._rg = False
                    self.rates.append((group, rate, fed))
                    group["lr"] = fed

    def rate_feeds(self) -> list[np.ndarray]:
        """The learning rates to feed, read from the groups now (after a scheduler step);
        the arrays are made again only when a rate changed."""
        now = [group["lr"] for group, _, _ in self.rates]
        if now != self._fed_rates:
            self._fed = [np.asarray(rate, dtype=np.float64) for rate in now]
            self._fed_rates = now
        return self._fed

    def written(self) -> list:
        """The assignments the trace made to state, through the tensors themselves or any
        alias of them (``param.data -= ...`` updates a detached view)."""
        return [n for n in self.graph.nodes if n.op == "assign" and "storage" in n.attrs]

    def _captured(self) -> list[tuple[Tensor, object]]:
        """Every eager tensor the graph captured (found beforehand, or met in a module's
        call), with its ``.grad`` from before the trace."""
        entries = [(ref(), grad) for ref, _, grad in self.graph.captured.values()]
        return [(t, grad) for t, grad in entries if t is not None]

    def new_grads(self) -> list[tuple[Tensor, Tensor]]:
        """Parameters whose ``.grad`` the trace set to a graph value."""
        return [(t, t.grad) for t, _ in self._captured()
                if isinstance(t.grad, Tensor) and type(t.grad._data) is not np.ndarray]

    def restore(self) -> None:
        """Put every tensor, gradient and rate back as it was before the trace (also after
        a trace that failed half-way)."""
        for tensor, data in self.swapped:
            tensor._data = data
        for tensor, grad in self._captured():
            if isinstance(tensor.grad, Tensor) and type(tensor.grad._data) is not np.ndarray:
                tensor.grad = grad
        for param, grad in self.grads:
            param.grad = grad
        for group, rate, _ in self.rates:
            group["lr"] = rate
        for optimizer, before in self._state_before:
            for param, entry in list(optimizer.state.items()):
                kept = before.get(param, set())
                for name in [name for name in entry if name not in kept]:
                    del entry[name]
                    self.made_state = True
                if param not in before:
                    del optimizer.state[param]
