"""In-place operations of :class:`~flowgrad.tensor.Tensor` (``+=``, ``add_``, ``fill_``, ...).

They are functions whose first argument is the tensor, attached as methods by
:mod:`flowgrad.functions` (like ``x.exp()``), so that this module can use the tensor API.

Unrecorded updates (an optimizer's step under ``no_grad``) write straight into the tensor's
memory. Recorded ones compute out of place, check the result fits, then copy it in and re-point
the tensor's ``grad_fn``; every check runs before any memory is written.
"""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions._convert import as_tensor_like
from flowgrad.functions.elementwise import (
    add,
    addcdiv,
    addcmul,
    clamp,
    div,
    lerp,
    mul,
    pow,
    sqrt,
    sub,
)
from flowgrad.functions.shaping import expand
from flowgrad.tensor import Tensor


def _inplace(self: Tensor, op: str, fn, other) -> Tensor:
    """``self op= other``: write into this tensor's memory, recorded when needed."""
    result = fn(self, other)
    if result._data.dtype != self._data.dtype and not np.can_cast(
        result._data.dtype, self._data.dtype, casting="same_kind"
    ):
        raise DTypeError(at_user_site(
            f"{op}=: the result type {result._data.dtype} can't be cast to the "
            f"tensor's type {self._data.dtype} in place"
        ))
    if _shapes_differ(result._data.shape, self._data.shape):
        raise ShapeError(at_user_site(
            f"{op}=: the result has shape {result._data.shape}, which does not match the "
            f"tensor's shape {self._data.shape} (in-place operations cannot broadcast the "
            f"tensor itself)"
        ))
    symbolic = type(self._data) is not np.ndarray
    if not symbolic and not self._data.flags.writeable:
        raise RuntimeError(at_user_site(
            f"{op}=: this tensor is a read-only view (made by expand/broadcast); "
            f".clone() it before modifying it in place"
        ))
    if result.grad_fn is not None:
        if self.grad_fn is None and self._rg:
            raise RuntimeError(at_user_site(
                f"{op}=: a leaf tensor that requires grad is used in an in-place operation;"
                f" update it under fg.no_grad() (as optimizers do) or use an out-of-place "
                f"operation"
            ))
        if self.grad_fn is not None and self.grad_fn.prim.view:
            raise RuntimeError(at_user_site(
                f"{op}=: this tensor is a view ({self.grad_fn.prim.name}) of a tensor that "
                f"requires grad; modifying it in place would change that tensor behind "
                f"autograd's back. Use an out-of-place operation, or .clone() the view first"
            ))
        _keep_saved_original(self, result.grad_fn)
        self.grad_fn = result.grad_fn
        self._rg = True
    if symbolic or type(result._data) is not np.ndarray:
        from flowgrad.graph.variables import assign_inplace

        assign_inplace(self, result)  # an assignment node, or a new name for the value
    else:
        np.copyto(self._data, result._data, casting="same_kind")
    self._bump_version()
    return self


def _shapes_differ(a, b) -> bool:
    """Whether two shapes surely differ (a ``None`` dimension or rank matches anything)."""
    if a == b or a is None or b is None:
        return False
    return len(a) != len(b) or any(x is not None and y is not None and x != y
                                   for x, y in zip(a, b, strict=True))


def _concrete(*values) -> bool:
    """Whether every tensor among ``values`` holds an array (not a graph node). A loop, not
    ``all()`` over a generator: optimizers call this for every parameter at every step."""
    for value in values:
        if isinstance(value, Tensor) and type(value._data) is not np.ndarray:
            return False
    return True

def _keep_saved_original(self, node) -> None:
    """Give ``node`` a copy of this tensor where it saved it for backward: the in-place
    write is about to overwrite it (``y *= x`` needs the old ``y`` for x's gradient)."""
    saved = node.saved
    if saved is None or not any(saved[i] is self for i, _ in node.saved_versions):
        return
    data = self._data
    original = Tensor._wrap(data.copy() if type(data) is np.ndarray else data)
    original._rg = self._rg
    original.grad_fn = self.grad_fn
    original._vc = [self._version]
    node.saved = tuple(original if t is self else t for t in saved)

def _update(self: Tensor, op: str, ufunc, fn, other, alpha=1) -> Tensor:
    """``self op= other``: straight into this tensor's memory when nothing is recorded (an
    optimizer's update under no_grad: no temporary, no copy); else through ``_inplace``,
    which records it and explains any error."""
    is_tensor = isinstance(other, Tensor)
    if (STATE.grad_enabled and (self._rg or (is_tensor and other._rg))) or type(
            self._data) is not np.ndarray or (is_tensor and type(other._data) is not np.ndarray):
        return _inplace(self, op, fn, other)
    operand = other._data if is_tensor else other
    if isinstance(alpha, Tensor):
        return _inplace(self, op, fn, other)
    if alpha != 1:
        operand = np.multiply(operand, alpha)
    try:
        ufunc(self._data, operand, out=self._data, casting="same_kind")
    except (TypeError, ValueError):
        return _inplace(self, op, fn, other)  # raises the error that says what is wrong
    self._bump_version()
    return self

def iadd(self, other) -> Tensor:
    return _update(self, "+", np.add, add, other)

def isub(self, other) -> Tensor:
    return _update(self, "-", np.subtract, sub, other)

def imul(self, other) -> Tensor:
    return _update(self, "*", np.multiply, mul, other)

def itruediv(self, other) -> Tensor:
    return _update(self, "/", np.true_divide, div, other)

def add_(self, other, *, alpha=1) -> Tensor:
    return _update(self, "+", np.add, lambda a, b: add(a, b, alpha=alpha), other, alpha)

def sub_(self, other, *, alpha=1) -> Tensor:
    return _update(self, "-", np.subtract, lambda a, b: sub(a, b, alpha=alpha), other,
                        alpha)

def mul_(self, other) -> Tensor:
    return _update(self, "*", np.multiply, mul, other)

def div_(self, other) -> Tensor:
    return _update(self, "/", np.true_divide, div, other)

def _combine_into(self: Tensor, op: str, recorded, combine, a, b, scale) -> Tensor:
    """``self += scale * combine(a, b)``, the shape of ``lerp_``/``addcmul_``/``addcdiv_``:
    unrecorded, one temporary and three passes over memory; recorded (or on any error, which
    ``_inplace`` then explains), through ``recorded(self)``."""
    tensors = (a, b, scale)
    if not _concrete(self, *tensors) or (STATE.grad_enabled and (
            self._rg or any(isinstance(t, Tensor) and t._rg for t in tensors))):
        return _inplace(self, op, lambda s, _: recorded(s), None)
    a_data, b_data, scale_data = (t._data if isinstance(t, Tensor) else t for t in tensors)
    try:
        update = np.asarray(combine(a_data, b_data))  # a fresh array (or 0-d) we may reuse
        if not (type(scale_data) in (int, float) and scale_data == 1):
            np.multiply(update, scale_data, out=update, casting="same_kind")
        np.add(self._data, update, out=self._data, casting="same_kind")
    except (TypeError, ValueError):
        return _inplace(self, op, lambda s, _: recorded(s), None)
    self._bump_version()
    return self

def lerp_(self, end, weight) -> Tensor:
    """``self += weight * (end - self)`` in place (an optimizer's running average)."""
    return _combine_into(self, "lerp", lambda s: lerp(s, end, weight), np.subtract, end,
                         self, weight)

def addcmul_(self, tensor1, tensor2, *, value=1) -> Tensor:
    """``self += value * tensor1 * tensor2`` in place."""
    return _combine_into(self, "addcmul", lambda s: addcmul(s, tensor1, tensor2, value=value),
                         np.multiply, tensor1, tensor2, value)

def addcdiv_(self, tensor1, tensor2, *, value=1) -> Tensor:
    """``self += value * tensor1 / tensor2`` in place."""
    return _combine_into(self, "addcdiv", lambda s: addcdiv(s, tensor1, tensor2, value=value),
                         np.true_divide, tensor1, tensor2, value)

def sqrt_(self) -> Tensor:
    """Square root in place."""
    if ((STATE.grad_enabled and self._rg) or type(self._data) is not np.ndarray
            or not np.issubdtype(self._data.dtype, np.floating)):
        return _inplace(self, "sqrt", lambda s, _: sqrt(s), None)
    np.sqrt(self._data, out=self._data)
    self._bump_version()
    return self

def pow_(self, exponent) -> Tensor:
    return _inplace(self, "**", pow, exponent)

def clamp_(self, min=None, max=None) -> Tensor:
    return _inplace(self, "clamp", lambda a, _: clamp(a, min, max), None)

def copy_(self, src) -> Tensor:
    """Copy ``src`` (broadcast) into this tensor's memory."""
    return _inplace(self, "copy", lambda a, b: expand(as_tensor_like(b).to(a.dtype),
                                                       a.shape), src)

def zero_(self) -> Tensor:
    return fill_(self, 0)

def fill_(self, value) -> Tensor:
    if self._rg and STATE.grad_enabled:
        raise RuntimeError(at_user_site(
            "fill_: a tensor that requires grad cannot be filled in place while gradients "
            "are recorded; do it under fg.no_grad()"
        ))
    if type(self._data) is not np.ndarray:
        from flowgrad.graph.build import full_like_node

        return _inplace(self, "fill", lambda s, _: full_like_node(s, value), None)
    self._data[...] = value
    self._bump_version()
    return self

def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    from flowgrad import random as fg_random

    self._data[...] = fg_random.resolve(generator).uniform(a, b, self._data.shape)
    self._bump_version()
    return self

def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    from flowgrad import random as fg_random

    data = fg_random.resolve(generator).normal(mean, std, self._data.shape)
    self._data[...] = data
    self._bump_version()
    return self



#: The tensor methods this module defines, by name.
METHODS = {
    "__iadd__": iadd,
    "__isub__": isub,
    "__imul__": imul,
    "__itruediv__": itruediv,
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "pow_": pow_,
    "sqrt_": sqrt_,
    "lerp_": lerp_,
    "addcmul_": addcmul_,
    "addcdiv_": addcdiv_,
    "clamp_": clamp_,
    "copy_": copy_,
    "zero_": zero_,
    "fill_": fill_,
    "uniform_": uniform_,
    "normal_": normal_,
}
