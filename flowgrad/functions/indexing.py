"""Indexing: ``x[...]`` and ``x[...] = v``, gather/scatter_add, index_select, nonzero."""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE
from flowgrad.errors import DTypeError, GraphError, ShapeError, at_user_site
from flowgrad.functions._convert import as_tensor_like
from flowgrad.ops import indexing as I
from flowgrad.ops.rules import normalize_axis
from flowgrad.tensor import Tensor

_BASIC = (int, slice, type(None), type(Ellipsis))


def _split_index(index) -> tuple[tuple, list[Tensor]]:
    """A user index as (template, index tensors): tensors, arrays and lists go in slots."""
    if not isinstance(index, tuple):
        index = (index,)
    template, tensors = [], []
    for part in index:
        if isinstance(part, _BASIC) and not isinstance(part, bool):
            template.append(part)
        elif isinstance(part, np.integer):
            template.append(int(part))
        elif (isinstance(part, Tensor) and type(part._data) is np.ndarray
              and part._data.ndim == 0 and part._data.dtype.kind in "iu"):
            template.append(int(part._data))
        else:
            tensor = part if isinstance(part, Tensor) else Tensor._wrap(np.asarray(part))
            if tensor._data.dtype.kind not in "biu":
                raise IndexError(at_user_site(
                    f"index: tensors used as indices must be integer or bool, got "
                    f"{tensor._data.dtype} (use .long() to convert)"
                ))
            template.append(I.SLOT)
            tensors.append(tensor)
    return tuple(template), tensors


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with NumPy's (and PyTorch's) rules: ints, slices, None, ..., integer and
    boolean tensors. Basic indexing gives a view; tensor indices give a copy."""
    if type(index) is int or type(index) is slice:
        return I.getitem.bind(x, index=(index,))
    template, tensors = _split_index(index)
    if tensors:
        return I.index.bind(x, *tensors, template=template)
    return I.getitem.bind(x, index=template)


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` in place, for tensors that do not need gradients."""
    if type(x._data) is not np.ndarray or (isinstance(value, Tensor)
                                           and type(value._data) is not np.ndarray):
        raise GraphError(at_user_site(
            "setitem: x[...] = value with a graph's tensor; a graph cannot assign into part "
            "of a value yet. Build the result out of place (fg.where, fg.cat, masked_fill)"
        ))
    if STATE.grad_enabled and (x._rg or (isinstance(value, Tensor) and value._rg)):
        raise RuntimeError(at_user_site(
            f"setitem: cannot assign in place into a tensor of shape {x._data.shape} while "
            f"gradients are recorded (the tensor or the value requires grad). Build the result "
            f"out of place (fg.where, fg.cat, x.index_put), or assign under fg.no_grad()"
        ))
    template, tensors = _split_index(index)
    where = I.fill_template(template, [t._data for t in tensors])
    source = value._data if isinstance(value, Tensor) else np.asarray(value)
    if source.dtype.kind == "f" and x._data.dtype.kind in "biu":
        raise DTypeError(at_user_site(
            f"setitem: cannot assign {source.dtype} values into a {x._data.dtype} tensor"
        ))
    try:
        x._data[where] = source
    except ValueError as exc:
        raise ShapeError(at_user_site(
            f"setitem: value of shape {source.shape} cannot be assigned to x[{index!r}] of a "
            f"tensor of shape {x._data.shape}: {exc}"
        )) from None
    x._bump_version()


def gather(input, dim: int, index) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (PyTorch's ``gather``)."""
    x = as_tensor_like(input)
    index = as_tensor_like(index)
    return I.gather.bind(x, index, axis=normalize_axis("gather", dim, x._data.ndim))


def scatter_add(input, dim: int, index, src) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    x = as_tensor_like(input)
    src = as_tensor_like(src)
    if src._data.dtype != x._data.dtype:
        src = src.to(x.dtype)
    return I.scatter_add.bind(x, as_tensor_like(index), src,
                              axis=normalize_axis("scatter_add", dim, x._data.ndim))


def index_select(input, dim: int, index) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (1-D) along ``dim``."""
    x = as_tensor_like(input)
    axis = normalize_axis("index_select", dim, x._data.ndim)
    index = as_tensor_like(index)
    if index._data.ndim > 1:
        raise ShapeError(at_user_site(
            f"index_select: index must be 0-D or 1-D, got shape {index._data.shape}"
        ))
    template = (slice(None),) * axis + (I.SLOT,)
    return I.index.bind(x, index.reshape(-1), template=template)


def take_along_dim(input, indices, dim: int) -> Tensor:
    """Pick values along ``dim`` at ``indices``: ``gather`` with NumPy's argument order."""
    return gather(input, dim, indices)


def nonzero(input, *, as_tuple: bool = False):
    """Indices of nonzero elements: an ``(n, ndim)`` int64 tensor, or one tensor per dim."""
    data = as_tensor_like(input)._data
    if type(data) is not np.ndarray:
        raise GraphError(at_user_site(
            f"nonzero: how many elements of a graph's tensor (shape {data.shape}) are nonzero "
            f"is known only when the graph runs; use a mask (x != 0) with fg.where, or run "
            f"nonzero on the fetched array"
        ))
    found = np.nonzero(data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
    return Tensor._wrap(np.stack(found, axis=-1).astype(np.int64) if found else
                        np.zeros((1, 0), dtype=np.int64))


def masked_fill(input, mask, value) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere."""
    from flowgrad.functions.elementwise import where

    return where(mask, value, input)
