"""Affine maps: ``linear`` (``x @ W.T + b``) and ``bilinear`` (``x1 W x2 + b``)."""

from __future__ import annotations

from flowgrad.errors import ShapeError, at_user_site
from flowgrad.functions import as_tensor, matmul
from flowgrad.tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension of ``input``.

    Leading dimensions are flattened into one so forward and backward are each a single
    matrix product (no batched products, no reduction of a broadcast weight gradient).

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.linear(fg.ones(2, 3), fg.ones(4, 3), fg.zeros(4)).shape
    (2, 4)
    """
    x = as_tensor(input)
    shape = x.shape
    if weight.ndim == 2 and x.ndim >= 1 and shape[-1] != weight.shape[1]:
        raise ShapeError(at_user_site(
            f"linear: input has {shape[-1]} features (shape {tuple(shape)}) but the weight of "
            f"shape {tuple(weight.shape)} expects {weight.shape[1]}"
        ))
    if x.ndim > 2 and weight.ndim == 2:
        out = matmul(x.reshape(-1, shape[-1]), weight.T).reshape(*shape[:-1], weight.shape[0])
    else:
        out = matmul(x, weight.T)
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """``out[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``.

    Computed as one matrix product with ``weight`` laid out as ``(i, o * j)``, a product with
    ``input2`` and a sum over ``j``.

    >>> import flowgrad as fg
    >>> import flowgrad.nn.functional as F
    >>> F.bilinear(fg.ones(5, 2), fg.ones(5, 3), fg.ones(4, 2, 3)).shape
    (5, 4)
    """
    x1, x2 = as_tensor(input1), as_tensor(input2)
    if (weight.ndim != 3 or x1.ndim == 0 or x2.ndim == 0 or x1.shape[:-1] != x2.shape[:-1]
            or (x1.shape[-1], x2.shape[-1]) != tuple(weight.shape[1:])):
        raise ShapeError(at_user_site(
            f"bilinear: inputs of shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not fit a "
            f"weight of shape {tuple(weight.shape)} (expected (..., in1) and (..., in2) with "
            f"equal leading dimensions, and a weight (out, in1, in2))"
        ))
    out_features, in1, in2 = weight.shape
    batch = x1.shape[:-1]
    rows1 = x1.reshape(-1, in1)
    rows2 = x2.reshape(-1, 1, in2)
    mixed = matmul(rows1, weight.permute(1, 0, 2).reshape(in1, out_features * in2))
    out = (mixed.reshape(-1, out_features, in2) * rows2).sum(-1).reshape(*batch, out_features)
    return out if bias is None else out + bias
