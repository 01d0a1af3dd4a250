"""In-place operations of :class:`~flowgrad.tensor.Tensor` (``+=``, ``add_``, ``fill_``, ...).

Unrecorded updates (an optimizer's step under ``no_grad``) write straight into the tensor's
memory. Recorded ones compute out of place, check the result fits, then copy it in and re-point
the tensor's ``grad_fn``; every check runs before any memory is written.
"""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.errors import DTypeError, ShapeError, at_user_site


class InPlaceMixin:
    """The in-place methods; :class:`Tensor` inherits them."""

    __slots__ = ()

    def _inplace(self, op: str, fn, other) -> InPlaceMixin:
        """``self op= other``: write into this tensor's memory, recorded when needed."""
        result = fn(self, other)
        if result._data.dtype != self._data.dtype and not np.can_cast(
            result._data.dtype, self._data.dtype, casting="same_kind"
        ):
            raise DTypeError(at_user_site(
                f"{op}=: the result type {result._data.dtype} can't be cast to the "
                f"tensor's type {self._data.dtype} in place"
            ))
        if result._data.shape != self._data.shape:
            raise ShapeError(at_user_site(
                f"{op}=: the result has shape {result._data.shape}, which does not match the "
                f"tensor's shape {self._data.shape} (in-place operations cannot broadcast the "
                f"tensor itself)"
            ))
        if not self._data.flags.writeable:
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
            self._keep_saved_original(result.grad_fn)
            self.grad_fn = result.grad_fn
            self._rg = True
        np.copyto(self._data, result._data, casting="same_kind")
        self._bump_version()
        return self

    def _keep_saved_original(self, node) -> None:
        """Give ``node`` a copy of this tensor where it saved it for backward: the in-place
        write is about to overwrite it (``y *= x`` needs the old ``y`` for x's gradient)."""
        saved = node.saved
        if saved is None or not any(saved[i] is self for i, _ in node.saved_versions):
            return
        original = self._wrap(self._data.copy())
        original._rg = self._rg
        original.grad_fn = self.grad_fn
        original._vc = [self._version]
        node.saved = tuple(original if t is self else t for t in saved)

    def _update(self, op: str, ufunc, fn, other, alpha=1) -> InPlaceMixin:
        """``self op= other``: straight into this tensor's memory when nothing is recorded (an
        optimizer's update under no_grad: no temporary, no copy); else through ``_inplace``,
        which records it and explains any error."""
        is_tensor = isinstance(other, InPlaceMixin)  # i.e. a Tensor
        if STATE.grad_enabled and (self._rg or (is_tensor and other._rg)):
            return self._inplace(op, fn, other)
        operand = other._data if is_tensor else other
        if alpha != 1:
            operand = np.multiply(operand, alpha)
        try:
            ufunc(self._data, operand, out=self._data, casting="same_kind")
        except (TypeError, ValueError):
            return self._inplace(op, fn, other)  # raises the error that says what is wrong
        self._bump_version()
        return self

    def __iadd__(self, other) -> InPlaceMixin:
        return self._update("+", np.add, F.add, other)

    def __isub__(self, other) -> InPlaceMixin:
        return self._update("-", np.subtract, F.sub, other)

    def __imul__(self, other) -> InPlaceMixin:
        return self._update("*", np.multiply, F.mul, other)

    def __itruediv__(self, other) -> InPlaceMixin:
        return self._update("/", np.true_divide, F.div, other)

    def add_(self, other, *, alpha=1) -> InPlaceMixin:
        return self._update("+", np.add, lambda a, b: F.add(a, b, alpha=alpha), other, alpha)

    def sub_(self, other, *, alpha=1) -> InPlaceMixin:
        return self._update("-", np.subtract, lambda a, b: F.sub(a, b, alpha=alpha), other,
                            alpha)

    def mul_(self, other) -> InPlaceMixin:
        return self._update("*", np.multiply, F.mul, other)

    def div_(self, other) -> InPlaceMixin:
        return self._update("/", np.true_divide, F.div, other)

    def pow_(self, exponent) -> InPlaceMixin:
        return self._inplace("**", F.pow, exponent)

    def clamp_(self, min=None, max=None) -> InPlaceMixin:
        return self._inplace("clamp", lambda a, _: F.clamp(a, min, max), None)

    def copy_(self, src) -> InPlaceMixin:
        """Copy ``src`` (broadcast) into this tensor's memory."""
        return self._inplace("copy", lambda a, b: F.expand(F.as_tensor_like(b).to(a.dtype),
                                                           a.shape), src)

    def zero_(self) -> InPlaceMixin:
        return self.fill_(0)

    def fill_(self, value) -> InPlaceMixin:
        if self._rg and STATE.grad_enabled:
            raise RuntimeError(at_user_site(
                "fill_: a tensor that requires grad cannot be filled in place while gradients "
                "are recorded; do it under fg.no_grad()"
            ))
        self._data[...] = value
        self._bump_version()
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> InPlaceMixin:
        from flowgrad import random as fg_random

        self._data[...] = fg_random.resolve(generator).uniform(a, b, self._data.shape)
        self._bump_version()
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> InPlaceMixin:
        from flowgrad import random as fg_random

        data = fg_random.resolve(generator).normal(mean, std, self._data.shape)
        self._data[...] = data
        self._bump_version()
        return self


from flowgrad import functions as F  # noqa: E402  (functions build on the tensor module)
