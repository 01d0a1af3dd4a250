"""PyTorch-style ``repr`` of tensors: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_DEFAULT_SHOWN = {np.dtype(np.int64), np.dtype(np.bool_)}


def tensor_repr(t) -> str:
    from flowgrad import dtypes

    data = t._data
    prefix = "tensor("
    if data.size == 0:
        body = "[]" if data.ndim == 1 else f"[], size={data.shape}"
    else:
        fixed = data.dtype.kind == "f" and not _all_integral(data)
        body = np.array2string(
            data, separator=", ", prefix=prefix, precision=4,
            floatmode="fixed" if fixed else "maxprec", threshold=1000, edgeitems=3,
        )
    extras = []
    # An empty tensor shows any dtype but the default float: its values cannot tell it.
    implied = data.size > 0 and data.dtype in _DEFAULT_SHOWN
    if data.dtype != dtypes.get_default_dtype().np and not implied:
        extras.append(f"dtype={dtypes.from_numpy_dtype(data.dtype)!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return prefix + ", ".join([body, *extras]) + ")"


def _all_integral(data: np.ndarray) -> bool:
    finite = data[np.isfinite(data)]
    return bool(np.all(finite == np.round(finite)))
