"""Creating tensors: from data, filled, ranges, random; with PyTorch's dtype defaults."""

from __future__ import annotations

import numpy as np

from flowgrad import dtypes
from flowgrad import random as fg_random
from flowgrad.errors import DTypeError, ShapeError, at_user_site
from flowgrad.functions.shaping import sizes_from
from flowgrad.tensor import Tensor


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype, default: dtypes.DType | None = None):
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np
    return dtypes.as_dtype(dtype).np


def _infer_data_dtype(array: np.ndarray, data) -> np.dtype:
    """PyTorch's dtype for data: Python floats -> default float, ints -> int64, arrays keep."""
    kind = array.dtype.kind
    if kind == "f" and not _is_numpy_typed(data):
        return dtypes.get_default_dtype().np
    if kind in "iu" and not _is_numpy_typed(data):
        return np.dtype(np.int64)
    if kind in "biuf":
        dtypes.from_numpy_dtype(array.dtype)  # rejects unsupported widths
        return array.dtype
    raise DTypeError(at_user_site(
        f"tensor(): cannot make a tensor from data of type {array.dtype} "
        f"({type(data).__name__}); expected numbers, nested lists of numbers, or arrays"
    ))


def _is_numpy_typed(data) -> bool:
    return isinstance(data, np.ndarray | np.generic | Tensor)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, NumPy arrays, scalars, tensors).

    >>> import flowgrad as fg
    >>> fg.tensor([[1, 2], [3, 4]]).dtype
    flowgrad.int64
    >>> fg.tensor([1.5, 2.0], requires_grad=True)
    tensor([1.5000, 2.0000], requires_grad=True)
    """
    if isinstance(data, Tensor):
        array = np.array(data._data, copy=True)
    else:
        try:
            array = np.array(data)
        except ValueError as exc:
            raise ShapeError(at_user_site(
                f"tensor(): ragged nested sequence: every list at one depth must have the same "
                f"length ({exc})"
            )) from None
        if array.dtype == object:
            raise ShapeError(at_user_site(
                "tensor(): ragged or non-numeric nested sequence; expected nested lists of "
                "numbers with the same length at each depth"
            ))
    target = _np_dtype(dtype) if dtype is not None else _infer_data_dtype(array, data)
    return _finish(np.array(array, dtype=target, copy=True), requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` as a tensor, sharing memory with a NumPy array or tensor when possible."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtypes.as_dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or
                                         data.dtype == dtypes.as_dtype(dtype).np):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: changes to one are seen in the other.

    >>> import numpy as np, flowgrad as fg
    >>> a = np.zeros(2, dtype=np.float32)
    >>> t = fg.from_numpy(a)
    >>> a[0] = 5
    >>> t
    tensor([5., 0.])
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``, any object with ``__dlpack__`` on the CPU
    (a NumPy array, a PyTorch tensor, a flowgrad tensor): no copy, as ``torch.from_dlpack``.

    >>> import numpy as np, flowgrad as fg
    >>> a = np.arange(3.0)
    >>> t = fg.from_dlpack(a)
    >>> a[0] = 7
    >>> t
    tensor([7., 1., 2.], dtype=flowgrad.float64)
    """
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a tensor or "
                        f"array from a DLPack library), got {type(ext_tensor).__name__}")
    try:
        array = np.from_dlpack(ext_tensor)
    except (BufferError, TypeError, RuntimeError) as exc:
        raise type(exc)(f"from_dlpack: {type(ext_tensor).__name__} could not be shared: "
                        f"{exc}") from None
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape = sizes_from(size)
    if type(shape) is not tuple:
        return _filled_like_source(shape, 0, _np_dtype(dtype), requires_grad)
    return _finish(np.zeros(shape, dtype=_np_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape = sizes_from(size)
    if type(shape) is not tuple:
        return _filled_like_source(shape, 1, _np_dtype(dtype), requires_grad)
    return _finish(np.ones(shape, dtype=_np_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An uninitialised tensor (its values are whatever memory held)."""
    shape = sizes_from(size)
    if type(shape) is not tuple:
        return _filled_like_source(shape, 0, _np_dtype(dtype), requires_grad)
    return _finish(np.empty(shape, dtype=_np_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as PyTorch)."""
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    shape = sizes_from((size,))
    if type(shape) is not tuple:
        return _filled_like_source(shape, fill_value, _np_dtype(dtype), requires_grad)
    return _finish(np.full(shape, fill_value, dtype=_np_dtype(dtype)), requires_grad)


def _filled_like_source(shape, value, dtype, requires_grad: bool) -> Tensor:
    """A graph's shape known only at run time (a DynamicShape): a node filled with ``value``
    of the shape of the value the shape belongs to."""
    return _finish_symbolic(Tensor._wrap(shape.source), value, dtype, requires_grad)


def _finish_symbolic(like: Tensor, value, dtype, requires_grad: bool) -> Tensor:
    from flowgrad.graph.build import full_like_node

    result = full_like_node(like, value, dtype)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _like_dtype(input: Tensor, dtype):
    return input._data.dtype if dtype is None else _np_dtype(dtype)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    if type(input._data) is not np.ndarray:  # a graph's value: made when the graph runs
        return _finish_symbolic(input, 0, _like_dtype(input, dtype), requires_grad)
    return _finish(np.zeros(input.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    if type(input._data) is not np.ndarray:
        return _finish_symbolic(input, 1, _like_dtype(input, dtype), requires_grad)
    return _finish(np.ones(input.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    if type(input._data) is not np.ndarray:
        return _finish_symbolic(input, 0, _like_dtype(input, dtype), requires_grad)
    return _finish(np.empty(input.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if type(input._data) is not np.ndarray:
        return _finish_symbolic(input, fill_value, _like_dtype(input, dtype), requires_grad)
    return _finish(np.full(input.shape, fill_value, dtype=_like_dtype(input, dtype)),
                   requires_grad)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``[start, end)`` in steps; int64 for integer arguments, the default float otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if floats else dtypes.int64
    return _finish(np.arange(start, end, step, dtype=_np_dtype(dtype)), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _finish(np.linspace(start, end, int(steps), dtype=_np_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (``n`` x ``m``)."""
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


def _traced_draw(kind: str, shape, dtype, generator, **bounds) -> Tensor | None:
    """Inside a function fg.compile is tracing: a node that draws at every call (not an
    array drawn once and baked into the graph); None otherwise."""
    from flowgrad.graph.ir import TRACING

    graph = TRACING.graph
    if graph is None:
        return None
    from flowgrad.graph.build import constant_node
    from flowgrad.ops.random import draw

    token = Tensor._wrap(constant_node(graph, np.empty(0), name="draw/token"))
    return draw.bind(token, kind=kind, shape=tuple(shape), dtype=np.dtype(dtype),
                     generator=generator, **bounds)


def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in ``[0, 1)``."""
    np_dtype = _np_dtype(dtype)
    traced = _traced_draw("uniform", sizes_from(size), np_dtype, generator)
    if traced is not None:
        return traced
    data = fg_random.resolve(generator).random(sizes_from(size), dtype=np.float64)
    return _finish(data.astype(np_dtype, copy=False), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    np_dtype = _np_dtype(dtype)
    traced = _traced_draw("normal", sizes_from(size), np_dtype, generator)
    if traced is not None:
        return traced
    data = fg_random.resolve(generator).standard_normal(sizes_from(size), dtype=np.float64)
    return _finish(data.astype(np_dtype, copy=False), requires_grad)


def randint(low, high=None, size=(), *, generator=None, dtype=None,
            requires_grad: bool = False) -> Tensor:
    """Uniform integers in ``[low, high)`` (``randint(high, size)`` as in PyTorch)."""
    if high is None:
        low, high = 0, low
    elif isinstance(high, tuple | list):
        low, high, size = 0, low, high
    np_dtype = _np_dtype(dtype, dtypes.int64)
    traced = _traced_draw("integers", sizes_from((size,)), np_dtype, generator, low=low,
                          high=high)
    if traced is not None:
        return traced
    data = fg_random.resolve(generator).integers(low, high, size=sizes_from((size,)))
    return _finish(data.astype(np_dtype, copy=False), requires_grad)


def randperm(n: int, *, generator=None, dtype=None) -> Tensor:
    """A random permutation of ``0..n-1``."""
    data = fg_random.resolve(generator).permutation(n)
    return _finish(data.astype(_np_dtype(dtype, dtypes.int64)), False)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` with numbers, or elementwise with tensors."""
    rng = fg_random.resolve(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        mean_data = mean._data if isinstance(mean, Tensor) else mean
        std_data = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(*(tuple(v.shape) if isinstance(v, Tensor) else ()
                                      for v in (mean, std)))
        like = mean if isinstance(mean, Tensor) else std
        np_dtype = like._data.dtype if dtype is None else _np_dtype(dtype)
    else:
        if size is None:
            raise TypeError("normal: with number mean and std, give size=(...)")
        mean_data, std_data = mean, std
        shape = sizes_from((size,))
        np_dtype = _np_dtype(dtype)
    from flowgrad.graph.ir import TRACING

    if TRACING.graph is not None:  # drawn at every call of the compiled function
        return mean + std * randn(*shape, generator=generator, dtype=np_dtype)
    if np.any(np.asarray(std_data) < 0):
        raise ValueError("normal: std must be non-negative")
    data = mean_data + std_data * rng.standard_normal(shape, dtype=np.float64)
    return _finish(np.asarray(data).astype(np_dtype, copy=False), requires_grad)
