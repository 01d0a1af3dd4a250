"""The :class:`Primitive`: one declaration per operation, and ``bind``, the single entry point.

A primitive is declared once with

- ``forward(*arrays, **attrs)``: the kernel on backend arrays;
- ``infer(*avals, **attrs) -> (shape, numpy dtype)``: the shape/dtype rule, which graph mode
  uses to build symbolic tensors without computing, and which raises the precise
  :class:`~flowgrad.errors.ShapeError` for bad input (eager mode calls it only when the
  kernel fails, so the fast path pays nothing for good messages);
- ``vjp(ctx, grad) -> tuple``: the gradient rule, written with flowgrad Tensor operations, so
  that it works eagerly, symbolically, and again for higher-order gradients. ``ctx`` is the
  tape :class:`~flowgrad.autograd.node.Node`: ``ctx.inputs`` (saved inputs), ``ctx.output``,
  ``ctx.attrs``, ``ctx.needs_grad``, ``ctx.in_shapes``.

``bind`` looks at what the inputs are and decides: compute now, and record a tape node when
grad mode is on and an input requires grad.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.autograd.node import Node
from flowgrad.errors import AnomalyError, DTypeError, ShapeError, user_site

_ndarray = np.ndarray
_new = object.__new__
_data_of = operator.attrgetter("_data")

#: Set by :mod:`flowgrad.graph`: builds a node when an input is symbolic (see ``bind``).
bind_symbolic = None


class Primitive:
    """An operation with a forward kernel, a shape/dtype rule and a gradient rule."""

    def __init__(
        self,
        name: str,
        forward: Callable,
        infer: Callable,
        vjp: Callable | None = None,
        *,
        save_inputs: tuple[int, ...] | slice = (),
        save_output: bool = False,
        view: bool = False,
        random: bool = False,
        lower: Callable | None = None,
        into: Callable | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        self.infer = infer
        self.vjp = vjp  # None: not differentiable (comparisons, argmax, ...)
        self.save_inputs = save_inputs
        self.save_output = save_output
        self.view = view  # the output may share memory with input 0 (shares its version)
        self.random = random  # draws new values at every call: never folded or merged
        # lower(**attrs): the forward with its attributes bound, as the generated code of a
        # graph calls it (a C callable where a partial of a Python lambda would cost more)
        self.lower = lower
        # into(*inputs, out=array): the forward written into a given array of the output's
        # shape and dtype, as a ufunc's out= (a graph's memory plan gives it a buffer)
        self.into = into
        self.backward_name = "".join(p.capitalize() for p in name.split("_")) + "Backward"

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def bind(self, *inputs, **attrs):
        """Apply the primitive to tensors: compute, and record for autograd when needed."""
        arrays = tuple(map(_data_of, inputs))
        try:
            out = self.forward(*arrays, **attrs)
            if type(out) is not _ndarray:
                out = np.asarray(out)
        except Exception as exc:
            # A graph node refuses to be computed on (NumPy raises for it, see graph/ir.py):
            # finding symbolic inputs only here keeps the eager path free of the check.
            if bind_symbolic is not None:
                result = bind_symbolic(self, inputs, attrs)  # build the node, not run it
                if result is not None:
                    return result
            raise self._failure(exc, arrays, attrs) from None
        result = _new(Tensor)
        result._data = out
        result.grad = None
        result._hooks = None
        result._vc = _version_box(inputs[0]) if self.view else None
        state = STATE
        if state.grad_enabled and self.vjp is not None:
            for t in inputs:
                if t._rg:
                    result._rg = True
                    result.grad_fn = node = Node(self, attrs, inputs, arrays, result)
                    if state.anomaly:
                        node.site = user_site()
                    break
            else:
                result._rg = False
                result.grad_fn = None
        else:
            result._rg = False
            result.grad_fn = None
        if state.anomaly:
            self._check_finite(out)
        return result

    def _failure(self, exc: Exception, arrays: tuple, attrs: dict) -> Exception:
        """The error to raise for a failed kernel: the shape rule's, when it has one."""
        if isinstance(exc, ShapeError | DTypeError):
            return exc
        try:
            self.infer(*arrays, **attrs)
        except (ShapeError, DTypeError, IndexError) as explained:
            return explained.with_traceback(None)
        return exc

    def _check_finite(self, out) -> None:
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            bad = "nan" if np.isnan(out).any() else "inf"
            raise AnomalyError(
                f"{self.name} produced {bad} values in its forward (at {user_site()}); "
                f"check its inputs (log of 0 or of a negative number, division by 0, overflow)."
            )


def _version_box(t) -> list:
    box = t._vc
    if box is None:
        box = t._vc = [0]
    return box


from flowgrad.tensor import Tensor  # noqa: E402  (tensor.py imports this package at its end)
