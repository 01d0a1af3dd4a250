"""``fg.compile``: trace eager code into an optimised graph, and replay it.

``fg.compile(fn)`` returns a :class:`CompiledFunction`. Its first call runs ``fn`` eagerly
(that creates whatever state ``fn`` makes lazily: optimizer moments, ...). A later call
traces ``fn`` once per input signature (shapes, dtypes, static Python values, the training
flags of the modules it uses): the inputs become placeholders, the state it reads becomes
graph variables sharing the eager tensors' memory (:mod:`.tracing`), in-place updates of that
state become assignments, and parameters' new ``.grad`` become outputs. The passes optimise
the graph and the generated code then runs it; eager and compiled calls share parameters and
optimizer state, and give the same numbers.
"""

from __future__ import annotations

import functools
import operator
import warnings
from collections.abc import Callable

import numpy as np

from flowgrad.errors import TracingError, at_user_site
from flowgrad.graph.build import is_symbolic, placeholder
from flowgrad.graph.guards import MISS, fast_call
from flowgrad.graph.ir import TRACING, Graph
from flowgrad.graph.passes import optimize
from flowgrad.graph.plan import Plan
from flowgrad.graph.session import _flatten, _unflatten
from flowgrad.graph.tracing import Swap, discover, stored_tracers
from flowgrad.tensor import Tensor

#: Retraces of one function after which a warning names the argument that keeps changing.
RETRACE_WARNING = 5


class Trace:
    """One traced signature: the graph, its plan, and how to feed and unpack a call."""

    def __init__(self, graph: Graph, plan: Plan, outputs: list, structure, grads: list,
                 swap: Swap, signature: tuple) -> None:
        self.graph, self.plan = graph, plan
        self.outputs, self.structure = outputs, structure  # per output leaf: index or value
        self.grads = grads  # (parameter, output index) for each parameter's new .grad
        self.swap, self.signature = swap, signature
        self.fast: dict[tuple, Callable] = {}  # argument kinds -> generated fast call


class CompiledFunction:
    """A function (or module) that runs as an optimised graph; see :func:`compile`.

    Its plans own preallocated buffers, so one compiled function runs one call at a time:
    call it from one thread (or compile it once per thread)."""

    def __init__(self, fn: Callable, *, dynamic_batch: bool = False,
                 disable_passes=()) -> None:
        self.fn = fn
        self.dynamic_batch = dynamic_batch
        self.disable_passes = tuple(disable_passes)
        self._traces: dict[tuple, Trace] = {}
        self._latest: Trace | None = None
        self._calls = 0
        self._retraces = 0
        self._warned = False
        self._state: tuple | None = None
        self._positional: dict[int, tuple] = {}  # argument count -> structure template
        self._getters: dict[int, tuple] = {}  # id(param group) -> (group, size, getter)
        self._fast: Callable | None = None  # the latest trace's fast call (guards.py)
        functools.update_wrapper(self, fn, updated=())
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)  # a module: its class

    # -- what a user can look at ------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The graph of the latest trace."""
        return self._require_trace().graph

    @property
    def source(self) -> str:
        """The generated code of the latest trace."""
        return self._require_trace().plan.source

    def explain(self) -> str:
        """What the passes did to the latest trace, and what its memory plan saves."""
        return self._require_trace().plan.explain()

    def _require_trace(self) -> Trace:
        if self._latest is None:
            raise TracingError(f"{self.__name__}: not traced yet (the first call runs eagerly;"
                               f" the second traces)")
        return self._latest

    # -- calling -----------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs:  # the latest trace's signature, checked quickly
            result = fast(args)
            if result is not MISS:
                return result
        if TRACING.graph is not None:  # called by a function being traced: inline it
            return self.fn(*args, **kwargs)
        self._calls += 1
        if self._calls == 1:  # eagerly: lazily made state comes to exist
            return self._eager(args, kwargs)
        simple = not kwargs
        for arg in args:
            if type(arg) is not Tensor and type(arg) is not np.ndarray:
                simple = False
                break
        if not simple:
            structure, leaves = _flatten((list(args), kwargs), [])
        else:  # the common call, positional tensors: no flattening
            leaves = args
            structure = self._positional.get(len(args))
            if structure is None:
                structure = self._positional[len(args)] = _flatten((list(args), {}), [])[0]
        if self._state is None:  # found once: the modules, optimizers, tensors fn uses
            self._state = discover(self.fn, [*args, *kwargs.values()])
        modules, optimizers, tensors = self._state
        signature = self._signature(leaves, modules, optimizers)
        trace = self._traces.get(signature)
        if trace is None:
            trace = self._trace(structure, leaves, signature, modules, optimizers, tensors)
            if trace is None:  # it would have made optimizer state: make it eagerly first
                self._fast = None
                return self._eager(args, kwargs)
        self._latest = trace
        self._fast = self._fast_call(trace, args) if simple else None
        feeds = [leaf._data if isinstance(leaf, Tensor) else leaf
                 for leaf in leaves if isinstance(leaf, _ARRAYS)]
        if trace.swap.rates:
            feeds.extend(trace.swap.rate_feeds())
        values = trace.plan(feeds, {})
        for param, index in trace.grads:
            param.grad = Tensor._wrap(values[index])
        return self._finish(trace, values)

    def _eager(self, args: tuple, kwargs: dict):
        """Run ``fn`` eagerly (arrays as tensors): what creates state made lazily."""
        structure, leaves = _flatten((list(args), kwargs), [])
        args, kwargs = _unflatten(structure, iter(
            Tensor._wrap(leaf) if isinstance(leaf, np.ndarray) else leaf for leaf in leaves))
        return self.fn(*args, **kwargs)

    @staticmethod
    def _finish(trace: Trace, values: list):
        """The call's result: the traced function's outputs, the plan's values put in."""
        outputs = trace.outputs
        if trace.structure == ("leaf", None):  # one tensor: the common result
            item = outputs[0]
            return Tensor._wrap(values[item]) if type(item) is _Out else item
        return _unflatten(trace.structure, iter(
            Tensor._wrap(values[item]) if type(item) is _Out else item for item in outputs))

    def _fast_call(self, trace: Trace, args: tuple):
        """The generated fast path for ``trace`` and calls like ``args`` (see guards.py),
        made once per trace and per kind (Tensor or array) of each argument."""
        kinds = tuple(type(arg) for arg in args)
        fast = trace.fast.get(kinds)
        if fast is None:
            modules, optimizers, _ = self._state
            single = None
            if trace.structure == ("leaf", None) and type(trace.outputs[0]) is _Out:
                single = trace.outputs[0].index
            fast = trace.fast[kinds] = fast_call(trace, args, modules, optimizers,
                                                 self._hyper, self.dynamic_batch, single,
                                                 self._finish)
        return fast

    def _signature(self, leaves, modules: list, optimizers: list) -> tuple:
        """What decides the trace: each argument's dtype and shape (or static value), the
        modules' training flags, the optimizers' hyper-parameters other than the rate.

        It is computed at every call, so it is kept cheap: a W1 step is ~40 µs in all."""
        parts = []
        for leaf in leaves:
            kind = type(leaf)
            if kind is Tensor:
                data = leaf._data
            elif kind is np.ndarray:
                data = leaf
            elif isinstance(leaf, _ARRAYS):  # subclasses
                data = leaf._data if isinstance(leaf, Tensor) else leaf
            else:
                _check_static(self.__name__, leaf)
                parts.append(("static", kind.__name__, leaf))
                continue
            if type(data) is not np.ndarray:
                raise TracingError(at_user_site(
                    f"{self.__name__}: an argument is a symbolic tensor; compiled functions "
                    f"take arrays, eager tensors and Python values"
                ))
            shape = data.shape
            if self.dynamic_batch and shape:
                shape = (None, *shape[1:])
            parts.append(("array", data.dtype, shape, isinstance(leaf, Tensor) and leaf._rg))
        if modules:
            parts.append(("training", tuple(map(_TRAINING, modules))))
        if optimizers:
            parts.append(("hyper", tuple([self._hyper(group) for optimizer in optimizers
                                          for group in optimizer.param_groups])))
        return tuple(parts)

    def _hyper(self, group: dict) -> tuple:
        """The values of ``group``'s entries other than params and lr (one C call: the
        getter is made once per group, and again if the group gains entries)."""
        known = self._getters.get(id(group))
        if known is None or known[0] is not group or known[1] != len(group):
            keys = [key for key in group if key not in _FED]
            getter = operator.itemgetter(*keys, *keys[:1]) if keys else _no_entries
            known = self._getters[id(group)] = (group, len(group), getter)
            # (one key more: with two or more the getter gives a tuple)
        return known[2](group)

    def _trace(self, structure, leaves: list, signature: tuple, modules, optimizers,
               tensors) -> Trace | None:
        if self._traces:
            self._note_retrace(signature)
        graph = Graph()
        graph.traced = self.__name__
        swap = Swap(graph, modules, optimizers, tensors)
        TRACING.graph = graph  # random draws made by shape alone become nodes too
        try:
            symbolic, inputs = [], []
            with graph.as_default():
                for index, leaf in enumerate(leaves):
                    if isinstance(leaf, _ARRAYS):
                        shape = signature[index][2]
                        node = placeholder(signature[index][1], shape=shape,
                                           name=f"input_{index}")
                        node._rg = isinstance(leaf, Tensor) and leaf._rg
                        symbolic.append(node)
                        inputs.append(node._data)
                    else:
                        symbolic.append(leaf)
                args, kwargs = _unflatten(structure, iter(symbolic))
                result = self.fn(*args, **kwargs)
            out_structure, out_leaves = _flatten(result, [])
            fetches, outputs = [], []
            for leaf in out_leaves:
                if isinstance(leaf, Tensor) and is_symbolic(leaf):
                    outputs.append(_Out(len(fetches)))
                    fetches.append(leaf._data)
                else:
                    outputs.append(leaf)
            grads = []
            for param, grad in swap.new_grads():
                grads.append((param, len(fetches)))
                fetches.append(grad._data)
            side_effects = swap.written()
        finally:
            TRACING.graph = None
            swap.restore()
            graph.sealed = True  # a tensor that escaped the trace cannot add to it
        if swap.made_state:  # optimizer state made lazily (see Swap.restore): not traced
            return None
        if stored_tracers(self.fn, graph):
            warnings.warn(at_user_site(
                f"{self.__name__} stored a traced tensor in a list or dict while it was "
                f"traced: that happens once, with a value-less tensor, and not at later "
                f"calls. Return the values instead"
            ), stacklevel=3)
        optimized = optimize(graph, [*fetches, *side_effects], self.disable_passes)
        rate_nodes = [fed._data for _, _, fed in swap.rates]
        plan = Plan(optimized, [*inputs, *rate_nodes])
        trace = Trace(graph, plan, outputs, out_structure, grads, swap, signature)
        self._traces[signature] = trace
        return trace

    def _note_retrace(self, signature: tuple) -> None:
        self._retraces += 1
        if self._retraces < RETRACE_WARNING or self._warned:
            return
        previous = self._latest.signature if self._latest is not None else signature
        changing = [i for i, (a, b) in enumerate(zip(previous, signature, strict=False))
                    if a != b]
        what = ", ".join(_describe(i, signature, previous) for i in changing) or "the signature"
        warnings.warn(at_user_site(
            f"{self.__name__} was traced {self._retraces + 1} times: {what} keeps changing. "
            f"Each new value traces again; pass values that change as arrays/tensors, or use "
            f"fg.compile(..., dynamic_batch=True) for a changing batch size"
        ), stacklevel=3)
        self._warned = True


class _Out:
    """The position of an output in the plan's results."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __index__(self) -> int:
        return self.index


_ARRAYS = (Tensor, np.ndarray)
_FED = ("params", "lr")  # group entries that are not part of a signature (lr is an input)
_TRAINING = operator.attrgetter("training")


def _no_entries(group: dict) -> tuple:  # a getter of no keys
    return ()


def _check_static(name: str, value) -> None:
    if value is None or isinstance(value, bool | int | float | str):
        return
    from flowgrad.nn.module import Module
    from flowgrad.optim.optimizer import Optimizer

    if isinstance(value, Module | Optimizer):
        return
    raise TypeError(at_user_site(
        f"{name}: cannot pass a {type(value).__name__} to a compiled function; arguments are "
        f"tensors, NumPy arrays, Python numbers/strings/None, and lists/tuples/dicts of them"
    ))


def _describe(index: int, signature: tuple, previous: tuple) -> str:
    kind = signature[index][0]
    if kind == "training":
        return "a module's training flag"
    if kind == "hyper":
        return "an optimizer's hyper-parameters"
    if kind == "array":
        _, dtype, shape, grad = signature[index]
        if previous[index][:3] == signature[index][:3]:
            return f"argument {index}'s requires_grad (now {grad})"
        return f"argument {index} (now {dtype} of shape {tuple(shape)})"
    return f"argument {index} (now the {signature[index][1]} {signature[index][2]!r})"


def compile(fn: Callable | None = None, *, dynamic_batch: bool = False,
            disable_passes=()) -> CompiledFunction | Callable:
    """Compile ``fn`` (a function, or a module) into an optimised graph; usable as
    ``@fg.compile`` or ``@fg.compile(dynamic_batch=True)``.

    >>> import flowgrad as fg
    >>> @fg.compile
    ... def affine(x):
    ...     return x * 2 + 1
    >>> affine(fg.tensor([1.0, 2.0]))  # the first call runs eagerly
    tensor([3., 5.])
    >>> affine(fg.tensor([3.0, 4.0]))  # later calls run the compiled graph
    tensor([7., 9.])
    >>> "mul" in affine.source
    True
    """
    if fn is None:
        return functools.partial(compile, dynamic_batch=dynamic_batch,
                                 disable_passes=disable_passes)
    return CompiledFunction(fn, dynamic_batch=dynamic_batch, disable_passes=disable_passes)


function = compile


def cond(pred, true_fn: Callable, false_fn: Callable):
    """``true_fn()`` where ``pred`` holds, else ``false_fn()``, for a graph value ``pred`` too:
    both branches are computed and the results selected elementwise (``fg.where``), so they
    must have matching structures. A concrete ``pred`` runs one branch, as Python's ``if``."""
    from flowgrad.functions import where

    if not is_symbolic(pred):
        return true_fn() if bool(pred) else false_fn()
    chosen, other = true_fn(), false_fn()
    structure, a = _flatten(chosen, [])
    other_structure, b = _flatten(other, [])
    if other_structure != structure:
        raise TracingError(at_user_site(
            "cond: the two branches return different structures; they must match"
        ))
    return _unflatten(structure, iter(where(pred, x, y) for x, y in zip(a, b, strict=True)))
