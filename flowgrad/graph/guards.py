"""The fast call of a compiled function: guards, then the plan, in one generated function.

A compiled call must find its trace (each argument's type, dtype and shape, the modules'
training flags, the optimizers' hyper-parameters) before it runs the plan. Done in general
Python that costs more than a small plan itself (~20 µs against ~22 µs for the article's
linear regression). So, as TorchDynamo does with its guards, each trace of the common call
(positional tensors or arrays) gets a function generated for exactly that signature: it checks
what the trace depends on with straight-line comparisons, feeds the plan, sets the new
gradients, and wraps the result. Any check that fails returns ``MISS`` and the general path
decides (and traces again if it must). ``fast.source`` shows the code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowgrad.graph.ir import TRACING
from flowgrad.tensor import Tensor

#: What a fast call returns when a guard fails: the general path takes over.
MISS = object()


def fast_call(trace, args: tuple, modules: list, optimizers: list, hyper: Callable,
              dynamic_batch: bool, single: int | None, finish: Callable) -> Callable:
    """A function ``fast(args)`` that runs ``trace`` for calls with the signature of
    ``args`` (each a Tensor or an ndarray), and returns ``MISS`` for any other call.
    ``hyper(group)`` gives a param group's signature values; ``single``: the index of the
    plan value that is the whole result, if it is one tensor; else ``finish(trace, values)``
    makes the result."""
    namespace: dict[str, object] = {
        "MISS": MISS, "TRACING": TRACING, "Tensor": Tensor, "ndarray": np.ndarray,
        "wrap": Tensor._wrap, "run": trace.plan._function, "hyper": hyper, "trace": trace,
        "finish": finish, "rate_feeds": trace.swap.rate_feeds,
    }
    lines = ["def fast(args):",
             f"    if len(args) != {len(args)} or TRACING.graph is not None:",
             "        return MISS"]
    feeds = []
    for index, arg in enumerate(args):
        a, d = f"a{index}", f"d{index}"
        lines.append(f"    {a} = args[{index}]")
        if type(arg) is Tensor:
            lines += [f"    if type({a}) is not Tensor or {a}._rg is not {arg._rg}:",
                      "        return MISS",
                      f"    {d} = {a}._data",
                      f"    if type({d}) is not ndarray:",
                      "        return MISS"]
            data = arg._data
        else:
            lines += [f"    if type({a}) is not ndarray:", "        return MISS", f"    {d} = {a}"]
            data = arg
        namespace[f"dtype{index}"] = data.dtype
        if dynamic_batch and data.shape:
            shape = f"{d}.shape"
            lines += [f"    if {d}.dtype != dtype{index} or len({shape}) != {data.ndim} or "
                      f"{shape}[1:] != {data.shape[1:]!r}:", "        return MISS"]
        else:
            lines += [f"    if {d}.dtype != dtype{index} or {d}.shape != {data.shape!r}:",
                      "        return MISS"]
        feeds.append(d)
    for index, module in enumerate(modules):
        namespace[f"m{index}"] = module
        lines += [f"    if m{index}.training is not {bool(module.training)}:",
                  "        return MISS"]
    for index, optimizer in enumerate(optimizers):
        groups = optimizer.param_groups
        namespace[f"o{index}"] = optimizer
        lines += [f"    groups = o{index}.param_groups",
                  f"    if len(groups) != {len(groups)}:", "        return MISS"]
        for number, group in enumerate(groups):
            g = f"g{index}_{number}"
            namespace[g], namespace[f"h{g}"] = group, hyper(group)
            lines += [f"    if groups[{number}] is not {g} or hyper({g}) != h{g}:",
                      "        return MISS"]
    feed_list = ", ".join(feeds)
    if trace.swap.rates:
        lines.append(f"    values = run([{feed_list}, *rate_feeds()], {{}})")
    else:
        lines.append(f"    values = run([{feed_list}], {{}})")
    for number, (param, index) in enumerate(trace.grads):
        namespace[f"p{number}"] = param
        lines.append(f"    p{number}.grad = wrap(values[{index}])")
    if single is not None:
        lines.append(f"    return wrap(values[{single}])")
    else:
        lines.append("    return finish(trace, values)")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<flowgrad fast call>", "exec"), namespace)
    fast = namespace["fast"]
    fast.source = source
    return fast
