"""Lookups by integer index: ``embedding`` (rows of a weight matrix) and ``one_hot``."""

from __future__ import annotations

import numpy as np

from flowgrad import functions as fg
from flowgrad.autograd.mode import no_grad
from flowgrad.errors import DTypeError, GraphError, ShapeError, at_user_site
from flowgrad.functions import as_tensor
from flowgrad.tensor import Tensor

__all__ = ["embedding", "one_hot"]


def check_indices(who: str, indices: Tensor, num_embeddings: int) -> None:
    """An IndexError naming ``who`` and the first bad index unless every index is in range."""
    data = indices._data
    if data.dtype.kind not in "iu":
        raise DTypeError(at_user_site(
            f"{who}: indices must be an integer tensor, got {data.dtype}; convert with .long()"
        ))
    if type(data) is not np.ndarray:
        return  # a graph's indices are known at run time
    if data.size and (data.min() < 0 or data.max() >= num_embeddings):
        bad = data[(data < 0) | (data >= num_embeddings)].flat[0]
        raise IndexError(at_user_site(
            f"{who}: index {bad} is out of range for {num_embeddings} embeddings (valid "
            f"indices are 0..{num_embeddings - 1}; input shape {tuple(data.shape)})"
        ))


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows of ``weight`` whose norm exceeds ``max_norm``, in place."""
    with no_grad():
        data = weight._data
        unique = np.unique(rows)
        norms = np.linalg.norm(data[unique], ord=norm_type, axis=1)
        too_long = norms > max_norm
        if too_long.any():
            scale = max_norm / (norms[too_long] + 1e-7)
            data[unique[too_long]] *= scale[:, None].astype(data.dtype)
            weight._bump_version()


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` at the integer indices ``input``: shape ``(*input.shape, dim)``.

    The row at ``padding_idx`` gets no gradient. With ``max_norm``, the rows looked up are
    first rescaled in place to norm at most ``max_norm``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> weight = fg.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> F.embedding(fg.tensor([[2, 1]]), weight)
    tensor([[[3., 4.],
             [1., 2.]]])
    """
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not "
                                  "supported; leave them False")
    indices = as_tensor(input)
    if weight.ndim != 2:
        raise ShapeError(at_user_site(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
            f"{tuple(weight.shape)}"
        ))
    num_embeddings = weight.shape[0]
    check_indices("embedding", indices, num_embeddings)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num_embeddings
    if max_norm is not None:
        if type(indices._data) is not np.ndarray:
            raise GraphError(at_user_site(
                "embedding: max_norm rescales the rows looked up in the weight in place, "
                "which a graph cannot do yet; use max_norm=None in graph mode (or renormalise "
                "the weight eagerly between runs)"
            ))
        _renorm_rows(weight, indices._data, max_norm, norm_type)
    rows = weight[indices]
    if padding_idx is not None and rows.requires_grad:
        padding = indices == padding_idx
        if type(padding._data) is not np.ndarray or padding._data.any():
            rows = fg.where(padding.unsqueeze(-1), rows.detach(), rows)
    return rows


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape ``(*tensor.shape, num_classes)``: 1 at each index, 0
    elsewhere; ``num_classes=-1`` takes the largest index plus one.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.one_hot(fg.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    indices = as_tensor(tensor)
    data = indices._data
    if data.dtype.kind not in "iu":
        raise DTypeError(at_user_site(
            f"one_hot: expected an integer tensor of class indices, got {data.dtype}"
        ))
    if type(data) is not np.ndarray:  # a graph value: the classes must be given
        if num_classes < 1:
            raise GraphError(at_user_site(
                "one_hot: a graph value's largest class is known only at run time; pass "
                "num_classes"
            ))
        classes = Tensor._wrap(np.arange(num_classes))
        return (indices.unsqueeze(-1) == classes).long()
    if num_classes == -1:
        if not data.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(data.max()) + 1
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        bad = data[(data < 0) | (data >= num_classes)].flat[0]
        raise IndexError(at_user_site(
            f"one_hot: class index {bad} is out of range for num_classes={num_classes}"
        ))
    encoded = data[..., None] == np.arange(num_classes)
    return Tensor._wrap(encoded.astype(np.int64))
