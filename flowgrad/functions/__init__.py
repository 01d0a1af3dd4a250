"""The functions of flowgrad's tensor API, composed from the primitives in :mod:`flowgrad.ops`.

``fg.exp(x)`` and ``x.exp()`` both land here, so there is one code path per operation.
"""

from flowgrad.tensor import Tensor  # noqa: I001
from flowgrad.functions._convert import as_tensor_like, cast
from flowgrad.functions.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from flowgrad.functions.elementwise import (
    abs,
    absolute,
    add,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    clamp,
    clip,
    cos,
    div,
    divide,
    eq,
    erf,
    exp,
    floor,
    floor_divide,
    ge,
    greater,
    greater_equal,
    gt,
    le,
    addcdiv,
    addcmul,
    lerp,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    lt,
    maximum,
    minimum,
    mul,
    multiply,
    ne,
    neg,
    negative,
    not_equal,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    subtract,
    tanh,
    true_divide,
    where,
)
from flowgrad.functions.indexing import (
    gather,
    getitem,
    index_select,
    masked_fill,
    nonzero,
    scatter_add,
    setitem,
    take_along_dim,
)
from flowgrad.functions.linalg import bmm, dot, einsum, matmul, mm, outer
from flowgrad.functions.reductions import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    softmax,
    std,
    sum,
    var,
)
from flowgrad.functions.shaping import (
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    expand_as,
    flatten,
    flip,
    movedim,
    pad,
    permute,
    repeat,
    repeat_interleave,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    t,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    view,
)

__all__ = [name for name in dir() if not name.startswith("_")]

from flowgrad import inplace

# Methods that are the functions of the same name (x.exp() is fg.exp(x)).
_METHODS = (
    "exp log log1p sqrt square rsqrt sin cos tanh sigmoid relu erf abs sign floor ceil round "
    "clamp clip reciprocal neg negative maximum minimum pow add sub mul div true_divide "
    "floor_divide remainder eq ne lt le gt ge logical_and logical_or logical_not bitwise_and "
    "bitwise_or bitwise_xor bitwise_not lerp addcmul addcdiv sum mean var std max min amax "
    "amin argmax argmin prod logsumexp log_softmax softmax all any count_nonzero norm reshape "
    "view flatten unflatten squeeze unsqueeze permute transpose t movedim expand expand_as "
    "broadcast_to repeat repeat_interleave split chunk unbind flip gather scatter_add "
    "index_select take_along_dim nonzero masked_fill matmul mm bmm dot outer"
).split()


def _where_method(self, condition, other):
    """``x.where(condition, y)``: ``x`` where ``condition`` holds, else ``y``."""
    return where(condition, self, other)


def _view_as(self, other):
    return reshape(self, other.shape)


def _reshape_as(self, other):
    return reshape(self, other.shape)


for _name in _METHODS:
    setattr(Tensor, _name, globals()[_name])  # a function whose first argument is the tensor
for _name, _method in inplace.METHODS.items():
    setattr(Tensor, _name, _method)
Tensor.where = _where_method
Tensor.view_as = _view_as
Tensor.reshape_as = _reshape_as
Tensor.swapaxes = transpose
