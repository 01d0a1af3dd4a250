"""ONNX translations of flowgrad's primitives: elementwise math, reductions, shapes, linear
algebra (indexing is in :mod:`.onnx_index`; convolution, pooling and random draws in
:mod:`.onnx_nn`).

A translation is ``fn(builder, node, args) -> str``: ``node`` is the flowgrad graph node
(its ``attrs``, and its inputs' static shapes and dtypes), ``args`` the ONNX names of its
inputs; it appends ONNX nodes and returns the name of the value that stands for ``node``.
Each reproduces flowgrad's (NumPy's) semantics, not the nearest ONNX operator's: ``%`` is a
floor modulo, ``//`` floors, ``log1p`` keeps its precision near 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowgrad.graph.ir import Node
from flowgrad.io.onnx_builder import Builder, Unsupported
from flowgrad.io.onnx_index import INDEXING
from flowgrad.io.onnx_nn import NN, pools_own_input, softmax_of

Translation = Callable[[Builder, Node, list], str]

# -- elementwise -----------------------------------------------------------------------------

_UNARY = {
    "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "erf": "Erf", "floor": "Floor", "ceil": "Ceil",
    "round": "Round",  # half to even, as NumPy
    "reciprocal": "Reciprocal", "abs": "Abs", "sign": "Sign", "copy": "Identity",
}
# Binary primitives and their ONNX operator; on bool tensors add/max are Or, mul/min And.
_BINARY = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
    "minimum": "Min", "eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
    "ge": "GreaterOrEqual",
}
_BOOLEAN = {"add": "Or", "mul": "And", "maximum": "Or", "minimum": "And"}
_SMALL_INTS = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.uint8))
_ORDERING = ("Less", "LessOrEqual", "Greater", "GreaterOrEqual")
_BITWISE = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
            "bitwise_xor": ("Xor", "BitwiseXor")}


def _dtype(node: Node, index: int = 0) -> np.dtype:
    return node.inputs[index].dtype


def _unary(op_type: str) -> Translation:
    return lambda b, node, args: b.op(op_type, args[0])


def _binary(name: str) -> Translation:
    def translate(b: Builder, node: Node, args: list) -> str:
        a, c = args
        if _dtype(node) == np.bool_:
            if name in _BOOLEAN:
                return b.op(_BOOLEAN[name], a, c)
            if _BINARY[name] in _ORDERING:  # ONNX orders numbers only
                a, c = b.cast(a, np.int32), b.cast(c, np.int32)
        op_type = _BINARY[name]
        if _dtype(node) in _SMALL_INTS and (op_type == "Pow" or (
                op_type in ("Add", "Sub", "Mul") and b.opset < 14)):
            # ONNX takes these types there from opset 14 (Pow: never): compute in int32;
            # the cast back wraps around as the narrow arithmetic would.
            wide = b.op(op_type, b.cast(a, np.int32), b.cast(c, np.int32))
            return b.cast(wide, _dtype(node))
        return b.op(op_type, a, c)

    return translate


def _neg(b: Builder, node: Node, args: list) -> str:
    dtype = _dtype(node)
    if dtype.kind == "u":  # ONNX Neg takes signed types; the cast back wraps, as NumPy
        return b.cast(b.op("Neg", b.cast(args[0], np.int32)), dtype)
    return b.op("Neg", args[0])


def _log1p(b: Builder, node: Node, args: list) -> str:
    # log(1 + x) loses x's digits below 1's precision; x * log(u) / (u - 1) with u = 1 + x
    # gets them back (the rounding of u cancels), and is x itself where u rounds to 1.
    (x,) = args
    one = b.scalar(1, _dtype(node))
    u = b.op("Add", x, one)
    d = b.op("Sub", u, one)
    ratio = b.op("Div", b.op("Mul", x, b.op("Log", u)), d)
    return b.op("Where", b.op("Equal", d, b.scalar(0, _dtype(node))), x, ratio)


def _relu(b: Builder, node: Node, args: list) -> str:
    if _dtype(node).kind == "f":
        return b.op("Relu", args[0])
    return b.op("Max", args[0], b.scalar(0, _dtype(node)))


def _invert(b: Builder, node: Node, args: list) -> str:
    dtype = _dtype(node)
    if dtype == np.bool_:
        return b.op("Not", args[0])
    if b.opset >= 18:
        return b.op("BitwiseNot", args[0])
    # ~x is -x - 1 in two's complement; narrow types in int32 (the cast back wraps around)
    wide = np.dtype(np.int32) if dtype in _SMALL_INTS else dtype
    x = args[0] if wide == dtype else b.cast(args[0], wide)
    inverted = b.op("Sub", b.op("Neg", x), b.scalar(1, wide))
    return inverted if wide == dtype else b.cast(inverted, dtype)


def _bitwise(name: str) -> Translation:
    logical, bitwise = _BITWISE[name]

    def translate(b: Builder, node: Node, args: list) -> str:
        if _dtype(node) == np.bool_:
            return b.op(logical, *args)
        if b.opset < 18:
            raise Unsupported(f"{name} of integer tensors needs ONNX opset 18 ({bitwise}); "
                              f"export with opset=18")
        return b.op(bitwise, *args)

    return translate


def _ne(b: Builder, node: Node, args: list) -> str:
    return b.op("Not", b.op("Equal", *args))


def _floor_divide(b: Builder, node: Node, args: list) -> str:
    a, c = args
    if _dtype(node).kind == "f":
        return b.op("Floor", b.op("Div", a, c))
    # Integers: ONNX Div truncates; take away the floor remainder first, then it is exact.
    return b.op("Div", b.op("Sub", a, b.op("Mod", a, c, fmod=0)), c)


def _remainder(b: Builder, node: Node, args: list) -> str:
    a, c = args
    dtype = _dtype(node)
    if dtype.kind != "f":
        return b.op("Mod", a, c, fmod=0)  # integer Mod takes the divisor's sign, as Python
    # Floats: fmod has the dividend's sign; NumPy's remainder, the divisor's.
    r = b.op("Mod", a, c, fmod=1)
    zero = b.scalar(0, dtype)
    signs_differ = b.op("Xor", b.op("Less", r, zero), b.op("Less", c, zero))
    fix = b.op("And", b.op("Not", b.op("Equal", r, zero)), signs_differ)
    return b.op("Where", fix, b.op("Add", r, c), r)


def _predicate(name: str) -> Translation:
    def translate(b: Builder, node: Node, args: list) -> str:
        (x,) = args
        dtype = _dtype(node)
        if dtype.kind != "f":  # integers are finite
            return b.full(b.shape(x), name == "isfinite", np.bool_)
        if dtype == np.float16 and b.opset < 20:
            x = b.cast(x, np.float32)  # IsInf takes float16 from opset 20
        if name == "isnan":
            return b.op("IsNaN", x)
        if name == "isinf":
            return b.op("IsInf", x)
        return b.op("Not", b.op("Or", b.op("IsNaN", x), b.op("IsInf", x)))

    return translate


def _where(b: Builder, node: Node, args: list) -> str:
    return b.op("Where", *args)


def _cast(b: Builder, node: Node, args: list) -> str:
    return b.cast(args[0], node.dtype)


def _full_like(b: Builder, node: Node, args: list) -> str:
    return b.full(b.shape(args[0]), node.attrs["value"], node.dtype)


def _clip(b: Builder, node: Node, args: list) -> str:
    dtype = _dtype(node)
    low, high = node.attrs["low"], node.attrs["high"]
    bounds = ["" if v is None else b.scalar(v, dtype) for v in (low, high)]
    while bounds and not bounds[-1]:
        bounds.pop()
    return b.op("Clip", args[0], *bounds)


# -- reductions ------------------------------------------------------------------------------


def _any(b: Builder, x: str, dtype, axes, keepdim: bool) -> str:
    if dtype != np.bool_:
        x = b.cast(x, np.bool_)
    counted = b.reduce("ReduceSum", b.cast(x, np.int64), axes, keepdim)
    return b.op("Greater", counted, b.scalar(0, np.int64))


def _all(b: Builder, x: str, dtype, axes, keepdim: bool) -> str:
    if dtype != np.bool_:
        x = b.cast(x, np.bool_)
    return b.op("Not", _any(b, b.op("Not", x), np.bool_, axes, keepdim))


_REDUCE = {"sum": ("ReduceSum", _any), "prod": ("ReduceProd", _all),
           "amax": ("ReduceMax", _any), "amin": ("ReduceMin", _all)}


def _axes(node: Node):
    axes = node.attrs["axes"]
    return None if axes is None or node.inputs[0].ndim == 0 else tuple(axes)


def _reduction(name: str) -> Translation:
    op_type, on_bools = _REDUCE[name]

    def translate(b: Builder, node: Node, args: list) -> str:
        keepdim = node.attrs["keepdim"]
        if _dtype(node) == np.bool_:  # NumPy adds and multiplies bools logically
            return on_bools(b, args[0], np.bool_, _axes(node), keepdim)
        return b.reduce(op_type, args[0], _axes(node), keepdim)

    return translate


def _logical(fn) -> Translation:
    return lambda b, node, args: fn(b, args[0], _dtype(node), _axes(node),
                                    node.attrs["keepdim"])


def _arg(op_type: str) -> Translation:
    def translate(b: Builder, node: Node, args: list) -> str:
        (x,) = args
        axes, keepdim = _axes(node), node.attrs["keepdim"]
        if node.inputs[0].ndim == 0:  # the one element is at 0
            return b.full(b.ints([]), 0, np.int64)
        if axes is None:  # over the flattened tensor, as NumPy
            index = b.op(op_type, b.op("Reshape", x, b.ints([-1])), axis=0, keepdims=0)
            return b.op("Reshape", index, b.ints([1] * node.ndim)) if keepdim else index
        return b.op(op_type, x, axis=axes[0], keepdims=int(keepdim), select_last_index=0)

    return translate


def _count(b: Builder, node: Node, args: list) -> str:
    axes = node.attrs["axes"]
    if axes is None:
        total = b.op("Size", args[0])
    else:
        sizes = b.op("Gather", b.shape(args[0]), b.ints(axes), axis=0)
        total = b.reduce("ReduceProd", sizes, None, False)
    return b.cast(total, node.dtype)


# -- shapes ----------------------------------------------------------------------------------


def _reshape(b: Builder, node: Node, args: list) -> str:
    return b.op("Reshape", args[0], b.ints(node.attrs["shape"]))


def _like(op_type: str) -> Translation:
    return lambda b, node, args: b.op(op_type, args[0], b.shape(args[1]))


def _sum_to(b: Builder, node: Node, args: list) -> str:
    target = node.shape
    if target is None or None in target:
        raise Unsupported("sum_to a shape known only at run time")
    source = node.inputs[0].shape
    lead = len(source) - len(target)
    axes = [*range(lead), *(lead + i for i, d in enumerate(target)
                            if d == 1 and source[lead + i] != 1)]
    summed = b.reduce("ReduceSum", args[0], axes, True) if axes else args[0]
    return b.op("Reshape", summed, b.ints(target))


def _permute(b: Builder, node: Node, args: list) -> str:
    return b.op("Transpose", args[0], perm=list(node.attrs["dims"]))


def _broadcast_to(b: Builder, node: Node, args: list) -> str:
    return b.op("Expand", args[0], b.ints(node.attrs["shape"]))


def _concat(b: Builder, node: Node, args: list) -> str:
    axis = node.attrs["axis"] % node.ndim
    # Pieces known to be empty add nothing (and some runtimes refuse them).
    kept = [name for name, source in zip(args, node.inputs, strict=True)
            if source.shape is None or source.shape[axis] != 0]
    if len(kept) == 1:
        return b.op("Identity", kept[0])
    return b.op("Concat", *(kept or args), axis=axis)


def _pad(b: Builder, node: Node, args: list) -> str:
    widths = node.attrs["widths"]
    pads = [before for before, _ in widths] + [after for _, after in widths]
    return b.op("Pad", args[0], b.ints(pads), b.scalar(node.attrs["value"], node.dtype),
                mode="constant")


def _first_input(b: Builder, node: Node, args: list) -> str:
    return args[0]  # ``after``: its other inputs are state updates, which do not export


# -- linear algebra --------------------------------------------------------------------------


def _matmul(b: Builder, node: Node, args: list) -> str:
    return b.op("MatMul", *args)


def _einsum(b: Builder, node: Node, args: list) -> str:
    equation = node.attrs["equation"]
    inputs = equation.split("->")[0].split(",")
    # A subscript may have size 1 in one operand and n in another (broadcast, as NumPy);
    # ONNX Einsum wants equal sizes, so such operands are expanded first (Expand's 1s keep
    # an operand's own sizes). Where n is known only at run time, it is read then.
    found: dict[str, tuple] = {}  # letter -> (operand, axis, size) where its size is not 1
    for position, (letters, source) in enumerate(zip(inputs, node.inputs, strict=True)):
        for axis, (letter, size) in enumerate(zip(letters, source.shape, strict=True)):
            if size != 1 and found.get(letter, (0, 0, None))[2] is None:
                found[letter] = (position, axis, size)
    operands = []
    for name, letters, source in zip(args, inputs, node.inputs, strict=True):
        targets = [found.get(letter) if size == 1 else None
                   for letter, size in zip(letters, source.shape, strict=True)]
        if any(targets):
            name = b.op("Expand", name, _sizes(b, args, targets))
        operands.append(name)
    return b.op("Einsum", *operands, equation=equation)


def _sizes(b: Builder, args: list, targets: list) -> str:
    """A shape value: 1 where ``targets`` has None, else the size of (operand, axis)."""
    if all(t is None or t[2] is not None for t in targets):
        return b.ints([1 if t is None else t[2] for t in targets])
    pieces = [b.ints([1 if t is None else t[2]]) if t is None or t[2] is not None
              else b.unsqueeze(b.dim(args[t[0]], t[1]), [0]) for t in targets]
    return b.op("Concat", *pieces, axis=0)


# -- the table -------------------------------------------------------------------------------

TRANSLATIONS: dict[str, Translation] = {
    **{name: _unary(op_type) for name, op_type in _UNARY.items()},
    **{name: _binary(name) for name in _BINARY},
    **{name: _bitwise(name) for name in _BITWISE},
    **{name: _predicate(name) for name in ("isfinite", "isnan", "isinf")},
    **{name: _reduction(name) for name in _REDUCE},
    "neg": _neg, "log1p": _log1p, "relu": _relu, "invert": _invert, "ne": _ne,
    "floor_divide": _floor_divide, "remainder": _remainder, "where": _where, "cast": _cast,
    "full_like": _full_like, "clip": _clip,
    "all": _logical(_all), "any": _logical(_any), "argmax": _arg("ArgMax"),
    "argmin": _arg("ArgMin"), "count": _count,
    "reshape": _reshape, "reshape_to": _like("Reshape"), "expand_to": _like("Expand"),
    "sum_to": _sum_to, "permute": _permute, "broadcast_to": _broadcast_to, "concat": _concat,
    "pad": _pad, "after": _first_input,
    "matmul": _matmul, "einsum": _einsum,
    **INDEXING,
    **NN,
}



def needed_inputs(node: Node) -> tuple[Node, ...]:
    """The nodes whose values ``node``'s translation reads: its inputs, but not the state
    updates tied to a value (``after``, ``assign``), nor the positions max pooling finds
    itself; and a softmax reads the input of the log-softmax it is the ``exp`` of."""
    if node.op in ("after", "assign") or (node.op == "max_pool2d" and pools_own_input(node)):
        return node.inputs[:1]
    if node.op == "softmax_exp" and softmax_of(node) is not None:
        return softmax_of(node).inputs
    return node.inputs


#: Primitives that only gradients use, with no ONNX translation (an export of a gradient
#: computation names them in its error).
GRADIENT_ONLY = ("conv2d_backward_weight", "max_pool2d_backward", "avg_pool2d_backward",
                 "cross_entropy_grad")
