"""The op table: every operation of the tensor API, checked by the one helper in ``optest``.

Each row is ``case(name, fn(lib, *tensors), numpy_reference, *input_arrays, ...)``; ``fn`` is
called with ``lib=flowgrad`` and, in the PyTorch comparison, with ``lib=torch``. Adding an
operation means adding rows here; a primitive that no row reaches fails
``test_every_primitive_is_exercised``.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from optest import (
    SAME,
    Case,
    Inputs,
    case,
    check_against_torch,
    check_case,
    check_second_order,
    coverage_problems,
    defined_primitives,
    exercise,
)

from flowgrad.ops import PRIMITIVES
from flowgrad.ops import elementwise as E
from flowgrad.ops import reduce as R
from flowgrad.ops import shape as S
from flowgrad.ops.random import draw, keep_mask

gen = Inputs(seed=2024)
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def shape_id(shape: tuple) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def no_torch(**options) -> dict:
    return {"torch_fn": None, **options}


def expit(x):
    return np.exp(-np.logaddexp(0.0, -x))


# -- unary math ---------------------------------------------------------------------------------

UNARY = {
    # method name: (NumPy reference, inputs of a given shape)
    "exp": (np.exp, gen.randn),
    "log": (np.log, gen.positive),
    "log1p": (np.log1p, lambda *s: gen.uniform(-0.5, 2.0, *s)),
    "sqrt": (np.sqrt, gen.positive),
    "rsqrt": (lambda x: 1 / np.sqrt(x), gen.positive),
    "sin": (np.sin, lambda *s: gen.randn(*s, scale=2.0)),
    "cos": (np.cos, lambda *s: gen.randn(*s, scale=2.0)),
    "tanh": (np.tanh, lambda *s: gen.randn(*s, scale=2.0)),
    "sigmoid": (expit, lambda *s: gen.randn(*s, scale=3.0)),
    "relu": (lambda x: np.maximum(x, 0.0), gen.nonzero),
    "abs": (np.abs, gen.nonzero),
    "sign": (np.sign, gen.nonzero),
    "floor": (np.floor, gen.off_grid),
    "ceil": (np.ceil, gen.off_grid),
    "round": (np.round, lambda *s: gen.off_grid(*s, offset=0.5)),
    "reciprocal": (np.reciprocal, gen.nonzero),
    "neg": (np.negative, gen.randn),
}
UNARY_SHAPES = [(), (5,), (2, 3), (2, 0, 3), (1, 3, 1)]

for _name, (_ref, _make) in UNARY.items():
    for _shape in UNARY_SHAPES:
        add(case(f"{_name}-{shape_id(_shape)}", lambda m, x, n=_name: getattr(x, n)(), _ref,
                 _make(*_shape)))
    add(case(f"fg.{_name}", lambda m, x, n=_name: getattr(m, n)(x), _ref, _make(3, 2)))

    # float32 stays float32 (the NumPy reference computes in float32 too).
    add(case(f"{_name}-float32", lambda m, x, n=_name: getattr(x, n)(), _ref,
             _make(2, 3).astype(np.float32)))

add(
    case("-x", lambda m, x: -x, np.negative, gen.randn(2, 3)),
    case("abs(x)", lambda m, x: abs(x), np.abs, gen.nonzero(4)),
    case("sigmoid-extreme", lambda m, x: x.sigmoid(), expit,
         np.array([-800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0])),
    # Integer input: math functions give the default float dtype (float32), as in PyTorch.
    case("exp-int64", lambda m, x: x.exp(), lambda x: np.exp(x.astype(np.float32)),
         gen.ints(-3, 4, 2, 3), grad=False),
    case("sqrt-int64", lambda m, x: x.sqrt(), lambda x: np.sqrt(x.astype(np.float32)),
         gen.ints(0, 9, 5), grad=False),
    case("abs-int64", lambda m, x: x.abs(), np.abs, gen.ints(-5, 5, 2, 3), grad=False),
    case("sign-int64", lambda m, x: x.sign(), np.sign, gen.ints(-5, 5, 6), grad=False),
    case("-x-int64", lambda m, x: -x, np.negative, gen.ints(-5, 5, 6), grad=False),
    case("relu-int64", lambda m, x: x.relu(), lambda x: np.maximum(x, 0), gen.ints(-5, 5, 6),
         grad=False),
    case("floor-int64", lambda m, x: x.floor(), np.floor, gen.ints(-5, 5, 6), grad=False),
    case("round-decimals", lambda m, x: x.round(decimals=1), lambda x: np.round(x, 1),
         gen.off_grid(2, 3, offset=0.05, gap=0.2) / 10),
)

# -- clamp, pow, maximum/minimum, where ---------------------------------------------------------

_edges = {"points": (-0.5, 0.5), "gap": 0.1}
_low = -0.5 + gen.uniform(-0.04, 0.04, 4)
_high = 0.5 + gen.uniform(-0.04, 0.04, 3, 1)
add(
    case("clamp-both", lambda m, x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
         gen.avoiding(3, 4, **_edges)),
    case("clamp-min", lambda m, x: x.clamp(min=-0.5), lambda x: np.maximum(x, -0.5),
         gen.avoiding(3, 4, **_edges)),
    case("clamp-max", lambda m, x: m.clamp(x, max=0.5), lambda x: np.minimum(x, 0.5),
         gen.avoiding(2, 0, 3, **_edges)),
    case("clip-scalar", lambda m, x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
         gen.avoiding(**_edges)),
    case("clamp-tensors", lambda m, x, lo, hi: x.clamp(lo, hi),
         lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
         gen.avoiding(3, 4, points=(-0.5, 0.5), gap=0.15), _low, _high),
    case("clamp-int64", lambda m, x: x.clamp(-2, 3), lambda x: np.clip(x, -2, 3),
         gen.ints(-5, 6, 3, 4), grad=False),
    case("clamp-int64-float-bound", lambda m, x: x.clamp(min=0.5),
         lambda x: np.maximum(x, 0.5).astype(np.float32), gen.ints(-5, 6, 6), grad=False),
)

add(
    case("x**2", lambda m, x: x ** 2, np.square, gen.randn(2, 3)),
    case("x**3", lambda m, x: x ** 3, lambda x: x ** 3, gen.randn(2, 3)),
    case("x**0.5", lambda m, x: x ** 0.5, np.sqrt, gen.positive(4)),
    case("x**-1.5", lambda m, x: x ** -1.5, lambda x: x ** -1.5, gen.positive(2, 2)),
    case("a**b", lambda m, a, b: a ** b, np.power, gen.positive(2, 3), gen.randn(2, 3)),
    case("a**b-broadcast", lambda m, a, b: a ** b, np.power, gen.positive(2, 3), gen.randn(3)),
    case("a**b-scalar-base", lambda m, a, b: a ** b, np.power, gen.positive(), gen.randn(2, 2)),
    case("2**x", lambda m, x: 2.0 ** x, lambda x: 2.0 ** x, gen.randn(3)),
    case("fg.pow", lambda m, a, b: m.pow(a, b), np.power, gen.positive(3, 1), gen.randn(1, 4)),
    case("pow-int64", lambda m, a, b: a ** b, np.power, gen.ints(-3, 4, 2, 3),
         gen.ints(0, 4, 3), grad=False),
)

for _name, _np in (("maximum", np.maximum), ("minimum", np.minimum)):
    add(
        case(f"{_name}-2x3", lambda m, a, b, n=_name: getattr(m, n)(a, b), _np,
             gen.randn(2, 3), gen.randn(2, 3)),
        case(f"{_name}-broadcast", lambda m, a, b, n=_name: getattr(m, n)(a, b), _np,
             gen.randn(4, 1), gen.randn(1, 5)),
        case(f"{_name}-2x3-3", lambda m, a, b, n=_name: getattr(a, n)(b), _np,
             gen.randn(2, 3), gen.randn(3)),
        case(f"{_name}-empty", lambda m, a, b, n=_name: getattr(m, n)(a, b), _np,
             gen.randn(0, 3), gen.randn(3)),
        # Ties share the gradient: d max(x, x) / dx = 1/2 + 1/2.
        case(f"{_name}-tie", lambda m, x, n=_name: getattr(m, n)(x, x), lambda x: x,
             gen.randn(3)),
    )
add(
    case("max-binary", lambda m, a, b: a.max(b), np.maximum, gen.randn(2, 3), gen.randn(2, 3)),
    case("min-binary", lambda m, a, b: m.min(a, b), np.minimum, gen.randn(3), gen.randn(2, 1)),
)

add(
    case("where", lambda m, c, a, b: m.where(c, a, b), np.where, gen.bools(2, 3),
         gen.randn(2, 3), gen.randn(2, 3)),
    case("where-broadcast", lambda m, c, a, b: m.where(c, a, b), np.where, gen.bools(2, 1),
         gen.randn(3), gen.randn(2, 3)),
    case("where-scalar-other", lambda m, c, a: m.where(c, a, 0.0),
         lambda c, a: np.where(c, a, 0.0), gen.bools(4), gen.randn(4)),
    case("where-from-x", lambda m, x: m.where(x > 0, x, -2 * x),
         lambda x: np.where(x > 0, x, -2 * x), gen.nonzero(3, 3)),
    case("Tensor.where", lambda m, x, c, y: x.where(c, y), lambda x, c, y: np.where(c, x, y),
         gen.randn(2, 3), gen.bools(3), gen.randn(1)),
    case("where-empty", lambda m, c, a, b: m.where(c, a, b), np.where, gen.bools(0, 2),
         gen.randn(2), gen.randn(0, 1)),
    case("where-int64", lambda m, c, a, b: m.where(c, a, b), np.where, gen.bools(5),
         gen.ints(0, 9, 5), gen.ints(-9, 0, 5), grad=False),
    case("where-scalars", lambda m, c: m.where(c, 1.0, 0.0),
         lambda c: np.where(c, 1.0, 0.0).astype(np.float32), gen.bools(2, 2), grad=False),
    case("where-int-cond", lambda m, c, a: m.where(c, a, -a), lambda c, a: np.where(c, a, -a),
         np.array([0, 2, -1, 0]), gen.randn(4), torch_fn=None),
)

# -- binary operators ---------------------------------------------------------------------------

BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 3)),
                 ((0, 3), (3,)), ((1,), (2, 1))]
OPERATORS = {
    "+": (operator.add, gen.randn),
    "-": (operator.sub, gen.randn),
    "*": (operator.mul, gen.randn),
    "/": (operator.truediv, gen.nonzero),
}
for _symbol, (_op, _make_b) in OPERATORS.items():
    for _sa, _sb in BINARY_SHAPES:
        add(case(f"a{_symbol}b-{shape_id(_sa)}-{shape_id(_sb)}",
                 lambda m, a, b, op=_op: op(a, b), _op, gen.randn(*_sa), _make_b(*_sb)))
add(
    case("fg.add-alpha", lambda m, a, b: m.add(a, b, alpha=2), lambda a, b: a + 2 * b,
         gen.randn(2, 3), gen.randn(3)),
    case("fg.sub", lambda m, a, b: m.sub(a, b), np.subtract, gen.randn(3), gen.randn(2, 1)),
    case("fg.mul", lambda m, a, b: m.mul(a, b), np.multiply, gen.randn(3), gen.randn(2, 1)),
    case("fg.div", lambda m, a, b: m.div(a, b), np.divide, gen.randn(3), gen.nonzero(2, 1)),
    case("a+2.5", lambda m, a: a + 2.5, lambda a: a + 2.5, gen.randn(2, 3)),
    case("2.5+a", lambda m, a: 2.5 + a, lambda a: 2.5 + a, gen.randn(2, 3)),
    case("a-1", lambda m, a: a - 1, lambda a: a - 1, gen.randn(3)),
    case("1-a", lambda m, a: 1 - a, lambda a: 1 - a, gen.randn(3)),
    case("2*a", lambda m, a: 2 * a, lambda a: 2 * a, gen.randn(3)),
    case("a/4", lambda m, a: a / 4, lambda a: a / 4, gen.randn(3)),
    case("4/a", lambda m, a: 4 / a, lambda a: 4 / a, gen.nonzero(3)),
    case("a*a", lambda m, a: a * a, np.square, gen.randn(2, 2)),
    case("float32-ops", lambda m, a, b: (a * b - 1.5) / (b + 3.0) ** 2,
         lambda a, b: (a * b - np.float32(1.5)) / (b + np.float32(3.0)) ** 2,
         gen.randn(2, 3).astype(np.float32), gen.randn(3).astype(np.float32)),
    case("a-a", lambda m, a: a - a, lambda a: a - a, gen.randn(2, 2)),
    # PyTorch's promotion: Python scalars do not upcast; integer / integer is float32.
    case("int64+2.5", lambda m, a: a + 2.5, lambda a: (a + 2.5).astype(np.float32),
         gen.ints(-5, 5, 2, 3), grad=False),
    case("int64*int32", lambda m, a, b: a * b, np.multiply, gen.ints(-5, 5, 2, 3),
         gen.ints(-5, 5, 3, dtype=np.int32), grad=False),
    case("int64/int64", lambda m, a, b: a / b, lambda a, b: (a / b).astype(np.float32),
         gen.ints(-5, 5, 4), gen.ints(1, 5, 4), grad=False),
    case("float32+float64", lambda m, a, b: a + b, np.add, gen.randn(3).astype(np.float32),
         gen.randn(3), grad=False),
    case("float32*2.5", lambda m, a: a * 2.5, lambda a: a * np.float32(2.5),
         gen.randn(3).astype(np.float32), grad=False),
    case("int64+bool", lambda m, a, b: a + b, np.add, gen.ints(-5, 5, 4), gen.bools(4),
         grad=False),
    case("bool+bool", lambda m, a, b: a + b, np.logical_or, gen.bools(4), gen.bools(4),
         grad=False),
    # 0-D tensors rank below tensors with dimensions unless their category is higher.
    case("float32+float64-0d", lambda m, a, b: a + b, lambda a, b: a + b.astype(np.float32),
         gen.randn(3).astype(np.float32), gen.randn(), grad=False),
    case("int64+float64-0d", lambda m, a, b: a * b, np.multiply, gen.ints(-5, 5, 3), gen.randn(),
         grad=False),
    case("int32+int64-0d", lambda m, a, b: a + b, lambda a, b: a + b.astype(np.int32),
         gen.ints(-5, 5, 3, dtype=np.int32), np.array(7), grad=False),
    case("uint8+int8", lambda m, a, b: a + b, lambda a, b: a.astype(np.int16) + b,
         gen.ints(0, 9, 3, dtype=np.uint8), gen.ints(-9, 9, 3, dtype=np.int8), grad=False),
    case("float16+float32-0d", lambda m, a, b: a + b, lambda a, b: a + b.astype(np.float16),
         gen.randn(3).astype(np.float16), np.array(1.5, dtype=np.float32), grad=False),
    case("int64-0d+float32-0d", lambda m, a, b: a - b, lambda a, b: a.astype(np.float32) - b,
         np.array(3), np.array(1.5, dtype=np.float32), grad=False),
    case("bool-0d+uint8", lambda m, a, b: a + b, lambda a, b: a.astype(np.uint8) + b,
         np.array(True), gen.ints(0, 9, 3, dtype=np.uint8), grad=False),
    case("int32*2.5", lambda m, a: a * 2.5, lambda a: (a * 2.5).astype(np.float32),
         gen.ints(-5, 5, 3, dtype=np.int32), grad=False),
    case("int64**0.5", lambda m, a: a ** 0.5, lambda a: np.sqrt(a).astype(np.float32),
         gen.ints(0, 9, 3), grad=False),
)


def quotient_pair(shape_a: tuple, shape_b: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``a, b`` with ``a / b`` well away from integers (floor and % are smooth there)."""
    b = gen.nonzero(*shape_b, gap=0.5)
    quotient = gen.off_grid(*np.broadcast_shapes(shape_a, shape_b), gap=0.15)
    return np.asarray(quotient * b), b


def torch_floor_divide(m, a, b):
    return m.div(a, b, rounding_mode="floor")  # PyTorch's // has no derivative


for _symbol, _op, _np, _torch in (("//", operator.floordiv, np.floor_divide, torch_floor_divide),
                                  ("%", operator.mod, np.remainder, SAME)):
    for _sa, _sb in (((2, 3), (2, 3)), ((2, 3), (3,)), ((), ())):
        add(case(f"a{_symbol}b-{shape_id(_sa)}-{shape_id(_sb)}",
                 lambda m, a, b, op=_op: op(a, b), _np, *quotient_pair(_sa, _sb),
                 torch_fn=_torch))
    add(
        case(f"a{_symbol}0.7", lambda m, a, op=_op: op(a, 0.7), lambda a, f=_np: f(a, 0.7),
             quotient_pair((4,), ())[0] * 0.7 / 0.5, grad=False),
        case(f"a{_symbol}b-int64", lambda m, a, b, op=_op: op(a, b), _np, gen.ints(-9, 9, 8),
             np.array([3, -3, 2, -2, 5, -5, 7, 1])),
    )
add(
    case("fg.floor_divide", lambda m, a, b: m.floor_divide(a, b), np.floor_divide,
         *quotient_pair((3,), (3,)), torch_fn=torch_floor_divide),
    case("div-floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), np.floor_divide,
         *quotient_pair((2, 3), (3,))),
    case("div-trunc", lambda m, a, b: a.div(b, rounding_mode="trunc"),
         lambda a, b: np.trunc(a / b), *quotient_pair((2, 3), (2, 3))),
    case("div-trunc-int64", lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
         lambda a, b: np.trunc(a / b).astype(np.int64), gen.ints(-9, 9, 6),
         np.array([2, -2, 3, -3, 4, 7]), grad=False),
    case("fg.remainder", lambda m, a, b: m.remainder(a, b), np.remainder,
         *quotient_pair((3,), (3,))),
)

# -- comparisons and bitwise --------------------------------------------------------------------

COMPARISONS = {
    "eq": (operator.eq, np.equal),
    "ne": (operator.ne, np.not_equal),
    "lt": (operator.lt, np.less),
    "le": (operator.le, np.less_equal),
    "gt": (operator.gt, np.greater),
    "ge": (operator.ge, np.greater_equal),
}
for _name, (_op, _np) in COMPARISONS.items():
    _ties = gen.ints(-2, 3, 2, 3).astype(np.float64), gen.ints(-2, 3, 3).astype(np.float64)
    add(
        case(f"{_name}-2x3-3", lambda m, a, b, op=_op: op(a, b), _np, *_ties, grad=False),
        case(f"fg.{_name}", lambda m, a, b, n=_name: getattr(m, n)(a, b), _np,
             *reversed(_ties), grad=False),
        case(f"{_name}-scalar", lambda m, a, op=_op: op(a, 1.0), lambda a, f=_np: f(a, 1.0),
             _ties[0], grad=False),
        case(f"{_name}-int-float", lambda m, a, b, op=_op: op(a, b), _np,
             gen.ints(-2, 3, 4), np.array([-1.0, 0.5, 1.0, 2.0]), grad=False),
        case(f"{_name}-empty", lambda m, a, b, op=_op: op(a, b), _np, gen.randn(0, 2),
             gen.randn(2), grad=False),
    )
# A Python number on the left: Python calls the reflected comparison (a.__gt__).
add(case("1.0<a", lambda m, a: 1.0 < a, lambda a: a > 1.0, gen.ints(-2, 3, 5) * 1.0,  # noqa: SIM300
         grad=False))

_bools = gen.bools(2, 3), gen.bools(3)
_ints = gen.ints(-8, 8, 2, 3), gen.ints(-8, 8, 3)
add(
    case("bool&bool", lambda m, a, b: a & b, np.bitwise_and, *_bools, grad=False),
    case("bool|bool", lambda m, a, b: a | b, np.bitwise_or, *_bools, grad=False),
    case("bool^bool", lambda m, a, b: a ^ b, np.bitwise_xor, *_bools, grad=False),
    case("~bool", lambda m, a: ~a, np.invert, _bools[0], grad=False),
    case("int&int", lambda m, a, b: a & b, np.bitwise_and, *_ints, grad=False),
    case("int|int", lambda m, a, b: a | b, np.bitwise_or, *_ints, grad=False),
    case("int^int", lambda m, a, b: a ^ b, np.bitwise_xor, *_ints, grad=False),
    case("~int", lambda m, a: ~a, np.invert, _ints[0], grad=False),
    case("int&bool", lambda m, a, b: a & b, lambda a, b: a & b.astype(np.int64), _ints[1],
         _bools[1], grad=False),
    case("bool&True", lambda m, a: a & True, lambda a: a & True, _bools[0], grad=False),
    case("~(a<b)", lambda m, a, b: ~(a < b), np.greater_equal, gen.randn(4), gen.randn(4),
         grad=False),
    case("logical_and", lambda m, a, b: m.logical_and(a, b), np.logical_and, _ints[0],
         _bools[1], grad=False),
    case("logical_not", lambda m, a: m.logical_not(a), np.logical_not, _ints[0], grad=False),
)

# -- reductions ---------------------------------------------------------------------------------


def _axis(x: np.ndarray, dim):
    return None if dim is None or x.ndim == 0 else dim


def np_reduction(fn, **np_kwargs):
    def ref(x, dim, keepdim):
        return fn(x, axis=_axis(x, dim), keepdims=keepdim, **np_kwargs)

    return ref


def np_logsumexp(x, axis, keepdims):
    shift = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = {
    # method name: (NumPy reference (x, dim, keepdim), inputs are distinct values)
    "sum": np_reduction(np.sum),
    "mean": np_reduction(np.mean),
    "var": np_reduction(np.var, ddof=1),
    "std": np_reduction(np.std, ddof=1),
    "amax": np_reduction(np.amax),
    "amin": np_reduction(np.amin),
    "prod": np_reduction(np.prod),
    "logsumexp": lambda x, dim, keepdim: np_logsumexp(x, _axis(x, dim), keepdim),
}


def reduction_case(op: str, x: np.ndarray, dim, keepdim: bool, tag: str = "", **options):
    kwargs = {} if dim is None else {"dim": dim}
    if keepdim:
        kwargs["keepdim"] = True
    torch_kwargs = dict(kwargs)
    if dim is None and keepdim:
        torch_kwargs["dim"] = None  # PyTorch takes keepdim only with dim
    if op == "logsumexp" and dim is None:
        torch_kwargs["dim"] = tuple(range(x.ndim))  # PyTorch's logsumexp needs a dim
    if op == "prod" and (isinstance(dim, tuple) or (dim is None and keepdim)):
        options.setdefault("torch_fn", None)  # PyTorch's prod takes one int dim
    options.setdefault("torch_fn", lambda m, t: getattr(t, op)(**torch_kwargs))
    ref = REDUCTIONS[op]
    return case(f"{op}-{tag or shape_id(x.shape)}-dim{dim}{'-keepdim' if keepdim else ''}",
                lambda m, t: getattr(t, op)(**kwargs), lambda a: ref(a, dim, keepdim), x,
                **options)


DIMS_3D = [(None, False), (None, True), (0, False), (1, False), (-1, True), ((0, 2), False),
           ((-1, 0), True)]
_x3 = gen.distinct(2, 3, 4)
for _op in REDUCTIONS:
    for _dim, _keepdim in DIMS_3D:
        add(reduction_case(_op, _x3, _dim, _keepdim))
    add(
        reduction_case(_op, gen.distinct(2, 3).astype(np.float32), -1, False, tag="float32"),
        reduction_case(_op, gen.distinct(5), 0, False),
        reduction_case(_op, gen.distinct(5), -1, True),
        reduction_case(_op, gen.distinct(1, 4, 1), (0, 1), False),
        reduction_case(_op, gen.distinct(1, 4, 1), -2, True),
    )
    if _op not in ("var", "std"):  # the variance of one element divides by zero
        add(reduction_case(_op, gen.distinct(1, 4, 1), (0, 2), False),
            reduction_case(_op, gen.randn(), None, False),
            reduction_case(_op, gen.randn(), 0, True),
            # An empty tensor: reduce a non-empty dimension.
            reduction_case(_op, gen.randn(2, 0, 3), 0, False))
    if _op in ("sum", "prod"):
        add(reduction_case(_op, gen.randn(2, 0, 3), 1, False),
            reduction_case(_op, gen.randn(2, 0, 3), None, False),
            reduction_case(_op, gen.randn(0), None, True))

_with_zeros = np.array([[0.5, 0.0, 2.0, 1.5], [0.0, 1.2, 0.0, -0.7], [1.1, -0.9, 0.8, 1.3]])
add(
    # prod's gradient is exact at zeros: one zero in a row, two zeros, none.
    reduction_case("prod", _with_zeros, -1, False, tag="zeros"),
    reduction_case("prod", _with_zeros, 0, True, tag="zeros"),
    reduction_case("prod", np.array([1.5, -0.5, 0.0, 2.0]), None, False, tag="one-zero"),
    reduction_case("logsumexp", gen.randn(3, 4) + np.array([[1000.0], [-1000.0], [0.0]]), -1,
                   False, tag="large"),
    # An empty sum: log(0) = -inf (amax, the usual shift, has no identity).
    case("logsumexp-empty-dim", lambda m, x: x.logsumexp(1), lambda x: np.full(2, -np.inf),
         gen.randn(2, 0), quiet=True),
    case("logsumexp-empty-keepdim", lambda m, x: x.logsumexp((0, 1), keepdim=True),
         lambda x: np.full((1, 1), -np.inf), gen.randn(0, 3), quiet=True),
    # PyTorch: an empty dim list reduces every dimension (NumPy's axis=() reduces none).
    case("sum-dim()", lambda m, x: x.sum(dim=()), np.sum, _x3),
    case("amax-dim()", lambda m, x: x.amax(dim=()), np.amax, _x3),
    # Ties share the gradient evenly (not differentiable there: compared with PyTorch only).
    case("amax-ties", lambda m, x: x.amax(1), lambda x: np.amax(x, 1),
         np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), fd=False),
    case("amin-ties-all", lambda m, x: x.amin(), np.amin,
         np.array([[1.0, 3.0, 1.0], [2.0, 1.0, 2.0]]), fd=False),
    case("max-dim-ties", lambda m, x: x.max(1), lambda x: (np.max(x, 1), np.argmax(x, 1)),
         np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), fd=False),
    case("maximum-ties", lambda m, a, b: m.maximum(a, b), np.maximum,
         np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]), fd=False),
    case("var-unbiased=False", lambda m, x: x.var(1, unbiased=False),
         lambda x: np.var(x, axis=1), _x3),
    case("var-correction=0", lambda m, x: x.var(dim=(0, 1), correction=0, keepdim=True),
         lambda x: np.var(x, axis=(0, 1), keepdims=True), _x3),
    case("std-unbiased=False", lambda m, x: m.std(x, -1, unbiased=False),
         lambda x: np.std(x, axis=-1), _x3),
    case("fg.sum", lambda m, x: m.sum(x, (0, -1)), lambda x: np.sum(x, axis=(0, 2)), _x3),
    case("fg.mean", lambda m, x: m.mean(x, -2, True), lambda x: np.mean(x, -2, keepdims=True),
         _x3),
    case("sum-int32", lambda m, x: x.sum(), lambda x: np.sum(x, dtype=np.int64),
         gen.ints(-9, 9, 2, 3, dtype=np.int32), grad=False),
    case("sum-bool", lambda m, x: x.sum(dim=0), lambda x: np.sum(x, axis=0), gen.bools(3, 4),
         grad=False),
    case("prod-int64", lambda m, x: x.prod(-1), lambda x: np.prod(x, -1), gen.ints(-3, 4, 2, 3),
         grad=False),
    case("mean-dtype", lambda m, x: x.mean(dim=1, dtype=m.float64),
         lambda x: np.mean(x, axis=1), gen.ints(-9, 9, 2, 3), grad=False),
    case("amax-int64", lambda m, x: x.amax(dim=0), lambda x: np.amax(x, axis=0),
         gen.ints(-9, 9, 2, 3), grad=False),
    case("sum-dtype", lambda m, x: x.sum(dtype=m.float64), lambda x: np.sum(x, dtype=np.float64),
         gen.ints(-9, 9, 2, 3), grad=False),
    case("count_nonzero", lambda m, x: m.count_nonzero(x, 1), lambda x: np.count_nonzero(x, 1),
         gen.ints(-1, 2, 3, 4), grad=False),
    case("norm-dim", lambda m, x: x.norm(dim=-1), lambda x: np.linalg.norm(x, axis=-1), _x3),
    case("norm-p1", lambda m, x: x.norm(p=1), lambda x: np.abs(x).sum(), gen.nonzero(2, 3)),
    case("norm-p3", lambda m, x: x.norm(p=3, dim=0, keepdim=True),
         lambda x: np.sum(np.abs(x) ** 3, axis=0, keepdims=True) ** (1 / 3), gen.nonzero(2, 3)),
    case("norm-inf", lambda m, x: x.norm(p=float("inf")), lambda x: np.abs(x).max(),
         gen.distinct(2, 3)),
)


def _values_indices(np_value, np_index, dim, keepdim):
    def ref(x):
        return np_value(x, axis=dim, keepdims=keepdim), np_index(x, axis=dim, keepdims=keepdim)

    return ref


for _name, _value, _index in (("max", np.max, np.argmax), ("min", np.min, np.argmin)):
    for _dim, _keepdim in ((1, False), (-1, True), (0, False)):
        add(case(f"{_name}-dim{_dim}{'-keepdim' if _keepdim else ''}",
                 lambda m, x, n=_name, d=_dim, k=_keepdim: getattr(x, n)(dim=d, keepdim=k),
                 _values_indices(_value, _index, _dim, _keepdim), _x3))
    add(
        case(f"{_name}-1d-dim0", lambda m, x, n=_name: getattr(x, n)(0),
             _values_indices(_value, _index, 0, False), gen.distinct(5)),
        case(f"{_name}-all", lambda m, x, n=_name: getattr(x, n)(), _value, _x3),
        case(f"fg.{_name}-dim", lambda m, x, n=_name: getattr(m, n)(x, -2),
             _values_indices(_value, _index, -2, False), _x3),
        case(f"{_name}-int64-dim", lambda m, x, n=_name: getattr(x, n)(dim=1),
             _values_indices(_value, _index, 1, False), gen.ints(-9, 9, 2, 3), grad=False),
        # Only ``dim`` goes: the other size-1 dimensions stay.
        case(f"{_name}-size1-dims", lambda m, x, n=_name: getattr(x, n)(2),
             _values_indices(_value, _index, 2, False), gen.distinct(2, 1, 3, 1)),
        # A 0-D tensor has dimension 0 (or -1): itself.
        case(f"{_name}-scalar-dim", lambda m, x, n=_name: getattr(x, n)(-1),
             lambda x: (x, np.array(0)), gen.randn()),
    )

_tied = np.array([[3, 1, 3], [0, 2, 2], [5, 5, 5]])
for _name, _np in (("argmax", np.argmax), ("argmin", np.argmin)):
    for _dim, _keepdim in ((None, False), (None, True), (1, False), (-1, True), (0, False)):
        add(case(f"{_name}-dim{_dim}{'-keepdim' if _keepdim else ''}",
                 lambda m, x, n=_name, d=_dim, k=_keepdim: getattr(x, n)(dim=d, keepdim=k),
                 lambda x, f=_np, d=_dim, k=_keepdim: f(x, axis=d, keepdims=k), _x3,
                 grad=False))
    add(
        case(f"{_name}-ties", lambda m, x, n=_name: getattr(x, n)(dim=1),
             lambda x, f=_np: f(x, axis=1), _tied, grad=False),
        case(f"fg.{_name}", lambda m, x, n=_name: getattr(m, n)(x), _np, _x3, grad=False),
        case(f"{_name}-1x4x1", lambda m, x, n=_name: getattr(x, n)(-2),
             lambda x, f=_np: f(x, axis=-2), gen.distinct(1, 4, 1), grad=False),
    )

_mask = gen.bools(3, 4)
for _name, _np in (("all", np.all), ("any", np.any)):
    for _dim, _keepdim in ((None, False), (0, False), (-1, True), ((0, 1), False)):
        add(case(f"{_name}-dim{_dim}{'-keepdim' if _keepdim else ''}",
                 lambda m, x, n=_name, d=_dim, k=_keepdim: getattr(x, n)(dim=d, keepdim=k),
                 lambda x, f=_np, d=_dim, k=_keepdim: f(x, axis=d, keepdims=k), _mask,
                 grad=False))
    add(
        case(f"{_name}-rows", lambda m, x, n=_name: getattr(x, n)(1),
             lambda x, f=_np: f(x, axis=1), np.array([[True, True], [True, False],
                                                      [False, False]]), grad=False),
        case(f"{_name}-float", lambda m, x, n=_name: getattr(m, n)(x),
             _np, np.array([0.0, 1.5, -2.0]), grad=False),
        case(f"{_name}-empty", lambda m, x, n=_name: getattr(x, n)(), _np,
             np.zeros((2, 0), dtype=bool), grad=False),
        case(f"{_name}-empty-dim", lambda m, x, n=_name: getattr(x, n)(dim=1),
             lambda x, f=_np: f(x, axis=1), np.zeros((2, 0), dtype=bool), grad=False),
    )

# -- shape --------------------------------------------------------------------------------------

_x234 = gen.randn(2, 3, 4)
add(
    case("reshape", lambda m, x: x.reshape(4, 6), lambda x: x.reshape(4, 6), _x234),
    case("reshape-tuple", lambda m, x: x.reshape((6, -1)), lambda x: x.reshape(6, -1), _x234),
    case("reshape-minus1", lambda m, x: x.reshape(-1), lambda x: x.reshape(-1), _x234),
    case("reshape-middle", lambda m, x: m.reshape(x, (2, -1, 2)),
         lambda x: x.reshape(2, -1, 2), _x234),
    case("reshape-to-scalar", lambda m, x: x.reshape(()), lambda x: x.reshape(()),
         gen.randn(1, 1)),
    case("reshape-from-scalar", lambda m, x: x.reshape(1, 1, 1), lambda x: x.reshape(1, 1, 1),
         gen.randn()),
    case("reshape-empty", lambda m, x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3),
         gen.randn(2, 0, 3)),
    case("view", lambda m, x: x.view(3, 8), lambda x: x.reshape(3, 8), _x234),
    case("view-minus1", lambda m, x: x.view(-1, 4), lambda x: x.reshape(-1, 4), _x234),
    case("view_as", lambda m, x, y: x.view_as(y), lambda x, y: x.reshape(y.shape), _x234,
         gen.randn(6, 4)),
    case("flatten", lambda m, x: x.flatten(), lambda x: x.reshape(-1), _x234),
    case("flatten-1", lambda m, x: x.flatten(1), lambda x: x.reshape(2, 12), _x234),
    case("flatten-0-1", lambda m, x: m.flatten(x, 0, 1), lambda x: x.reshape(6, 4), _x234),
    case("flatten-neg", lambda m, x: x.flatten(-2, -1), lambda x: x.reshape(2, 12), _x234),
    case("flatten-scalar", lambda m, x: x.flatten(), lambda x: x.reshape(1), gen.randn()),
    case("flatten-empty", lambda m, x: x.flatten(0, 1), lambda x: x.reshape(0, 3),
         gen.randn(2, 0, 3)),
    case("unflatten", lambda m, x: x.unflatten(-1, (2, 2)), lambda x: x.reshape(2, 3, 2, 2),
         _x234),
)

_x1 = gen.randn(1, 3, 1, 2)
add(
    case("squeeze", lambda m, x: x.squeeze(), lambda x: x.squeeze(), _x1),
    case("squeeze-0", lambda m, x: x.squeeze(0), lambda x: x.squeeze(0), _x1),
    case("squeeze-neg", lambda m, x: x.squeeze(-2), lambda x: x.squeeze(-2), _x1),
    case("squeeze-tuple", lambda m, x: x.squeeze((0, 2)), lambda x: x.squeeze((0, 2)), _x1),
    case("squeeze-not-1", lambda m, x: x.squeeze(1), lambda x: x, _x1),
    case("squeeze-scalar", lambda m, x: x.squeeze(), lambda x: x, gen.randn()),
    case("squeeze-empty", lambda m, x: m.squeeze(x, -1), lambda x: x.squeeze(-1),
         gen.randn(0, 1)),
    case("unsqueeze-0", lambda m, x: x.unsqueeze(0), lambda x: x[None], gen.randn(2, 3)),
    case("unsqueeze-1", lambda m, x: x.unsqueeze(1), lambda x: x[:, None], gen.randn(2, 3)),
    case("unsqueeze-neg", lambda m, x: x.unsqueeze(-1), lambda x: x[..., None],
         gen.randn(2, 3)),
    case("unsqueeze-neg-middle", lambda m, x: m.unsqueeze(x, -2), lambda x: x[:, None],
         gen.randn(2, 3)),
    case("unsqueeze-scalar", lambda m, x: x.unsqueeze(0), lambda x: x.reshape(1), gen.randn()),
)

add(
    case("permute", lambda m, x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), _x234),
    case("permute-tuple", lambda m, x: x.permute((1, 0, 2)), lambda x: x.transpose(1, 0, 2),
         _x234),
    case("permute-neg", lambda m, x: m.permute(x, (-1, 0, 1)), lambda x: x.transpose(2, 0, 1),
         _x234),
    case("permute-empty", lambda m, x: x.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0),
         gen.randn(2, 0, 3)),
    case("transpose", lambda m, x: x.transpose(0, 2), lambda x: x.swapaxes(0, 2), _x234),
    case("transpose-neg", lambda m, x: x.transpose(-1, -2), lambda x: x.swapaxes(-1, -2),
         _x234),
    case("fg.transpose", lambda m, x: m.transpose(x, 1, 0), lambda x: x.T, gen.randn(2, 3)),
    case("swapaxes", lambda m, x: x.swapaxes(0, 1), lambda x: x.swapaxes(0, 1), _x234),
    case("T", lambda m, x: x.T, lambda x: x.T, gen.randn(2, 3)),
    case("T-1d", lambda m, x: x.T, lambda x: x, gen.randn(3), torch_fn=None),  # deprecated
    case("t", lambda m, x: x.t(), lambda x: x.T, gen.randn(3, 2)),
    case("mT", lambda m, x: x.mT, lambda x: x.swapaxes(-1, -2), _x234),
    case("movedim", lambda m, x: x.movedim(0, -1), lambda x: np.moveaxis(x, 0, -1), _x234),
)

add(
    case("expand", lambda m, x: x.expand(3, 2, 4), lambda x: np.broadcast_to(x, (3, 2, 4)),
         gen.randn(2, 1)),
    case("expand-minus1", lambda m, x: x.expand(-1, 4), lambda x: np.broadcast_to(x, (2, 4)),
         gen.randn(2, 1)),
    case("expand-tuple", lambda m, x: x.expand((2, 3)), lambda x: np.broadcast_to(x, (2, 3)),
         gen.randn(3)),
    case("expand-scalar", lambda m, x: x.expand(2, 3), lambda x: np.broadcast_to(x, (2, 3)),
         gen.randn()),
    case("expand-same", lambda m, x: x.expand(2, 3), lambda x: x, gen.randn(2, 3)),
    case("expand-empty", lambda m, x: x.expand(0, 3), lambda x: np.broadcast_to(x, (0, 3)),
         gen.randn(1, 3)),
    case("expand_as", lambda m, x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape),
         gen.randn(4, 1), gen.randn(2, 4, 3)),
    case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3)),
         lambda x: np.broadcast_to(x, (2, 3)), gen.randn(1, 3)),
    case("repeat", lambda m, x: x.repeat(2, 3), lambda x: np.tile(x, (2, 3)), gen.randn(2, 3)),
    case("repeat-new-dim", lambda m, x: x.repeat(2, 1, 2), lambda x: np.tile(x, (2, 1, 2)),
         gen.randn(2, 3)),
    case("repeat-tuple", lambda m, x: x.repeat((3,)), lambda x: np.tile(x, 3), gen.randn(2)),
    case("repeat-zero", lambda m, x: x.repeat(0, 2), lambda x: np.tile(x, (0, 2)),
         gen.randn(2, 3)),
    case("repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=1),
         lambda x: np.repeat(x, 2, axis=1), gen.randn(2, 3)),
    case("flip", lambda m, x: x.flip((0, -1)), lambda x: np.flip(x, (0, -1)), _x234),
)

add(
    case("cat-0", lambda m, a, b: m.cat([a, b]), lambda a, b: np.concatenate([a, b]),
         gen.randn(2, 3), gen.randn(1, 3)),
    case("cat-neg", lambda m, a, b, c: m.cat((a, b, c), dim=-1),
         lambda a, b, c: np.concatenate([a, b, c], -1), gen.randn(2, 3), gen.randn(2, 0),
         gen.randn(2, 2)),
    case("cat-1-3d", lambda m, a, b: m.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1),
         gen.randn(2, 1, 2), gen.randn(2, 3, 2)),
    case("cat-one", lambda m, a: m.cat([a], 0), lambda a: a, gen.randn(2, 2)),
    case("concat", lambda m, a, b: m.concat([a, b], 0), lambda a, b: np.concatenate([a, b]),
         gen.randn(3), gen.randn(2)),
    case("cat-promote", lambda m, a, b: m.cat([a, b]), lambda a, b: np.concatenate([a, b]),
         gen.ints(0, 5, 2), gen.randn(3), grad=False),
    case("stack-0", lambda m, a, b, c: m.stack([a, b, c]), lambda a, b, c: np.stack([a, b, c]),
         gen.randn(2, 3), gen.randn(2, 3), gen.randn(2, 3)),
    case("stack-neg", lambda m, a, b: m.stack([a, b], dim=-1),
         lambda a, b: np.stack([a, b], -1), gen.randn(2, 3), gen.randn(2, 3)),
    case("stack-1", lambda m, a, b: m.stack((a, b), 1), lambda a, b: np.stack([a, b], 1),
         gen.randn(2, 3), gen.randn(2, 3)),
    case("stack-scalars", lambda m, a, b: m.stack([a, b]), lambda a, b: np.stack([a, b]),
         gen.randn(), gen.randn()),
)

_x46 = gen.randn(4, 6)
add(
    case("split-size", lambda m, x: x.split(2, dim=1), lambda x: np.split(x, 3, axis=1), _x46),
    case("split-uneven", lambda m, x: x.split(4, dim=-1),
         lambda x: np.split(x, [4], axis=-1), _x46),
    case("split-sections", lambda m, x: m.split(x, [1, 3], 0),
         lambda x: np.split(x, [1], axis=0), _x46),
    case("split-empty-section", lambda m, x: x.split([2, 0, 2]),
         lambda x: np.split(x, [2, 2]), _x46),
    case("chunk", lambda m, x: x.chunk(3, dim=1), lambda x: np.split(x, 3, axis=1), _x46),
    case("chunk-uneven", lambda m, x: x.chunk(3), lambda x: np.split(x, [2]), _x46),
    case("chunk-neg", lambda m, x: m.chunk(x, 4, -1), lambda x: np.split(x, [2, 4], -1), _x46),
    case("unbind", lambda m, x: x.unbind(1), lambda x: tuple(x[:, i] for i in range(3)),
         gen.randn(2, 3)),
)

# -- indexing -----------------------------------------------------------------------------------

_x345 = gen.randn(3, 4, 5)
_idx = np.array([0, 2, 2])
add(
    case("x[1]", lambda m, x: x[1], lambda x: x[1], _x345),
    case("x[-1]", lambda m, x: x[-1], lambda x: x[-1], _x345),
    case("x[1:3]", lambda m, x: x[1:3], lambda x: x[1:3], _x345),
    case("x[::2]", lambda m, x: x[::2], lambda x: x[::2], _x345),
    case("x[:, 1::2, -3:]", lambda m, x: x[:, 1::2, -3:], lambda x: x[:, 1::2, -3:], _x345),
    case("x[::-1]", lambda m, x: x[::-1], lambda x: x[::-1], _x345, torch_fn=None),
    case("x[2:2]", lambda m, x: x[2:2], lambda x: x[2:2], _x345),
    case("x[None]", lambda m, x: x[None], lambda x: x[None], _x345),
    case("x[None, :, None]", lambda m, x: x[None, :, None], lambda x: x[None, :, None], _x345),
    case("x[..., 1]", lambda m, x: x[..., 1], lambda x: x[..., 1], _x345),
    case("x[1, ..., None]", lambda m, x: x[1, ..., None], lambda x: x[1, ..., None], _x345),
    case("x[-1, 1:, 0]", lambda m, x: x[-1, 1:, 0], lambda x: x[-1, 1:, 0], _x345),
    case("x[...]", lambda m, x: x[...], lambda x: x[...], gen.randn()),
    case("x[idx-list]", lambda m, x: x[[0, 2, 2]], lambda x: x[[0, 2, 2]], _x345),
    case("x[idx-array]", lambda m, x: x[_idx], lambda x: x[_idx], _x345),
    case("x[idx-tensor]", lambda m, x, i: x[i], lambda x, i: x[i], _x345, _idx),
    case("x[:, idx-2d]", lambda m, x, i: x[:, i], lambda x, i: x[:, i], _x345,
         np.array([[3, 0], [-1, 3]])),
    case("x[i, j]", lambda m, x, i, j: x[i, j], lambda x, i, j: x[i, j], _x345,
         np.array([0, 2, 2]), np.array([[1], [3]])),
    case("x[i, :, j]", lambda m, x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j], _x345,
         np.array([1, 0]), np.array([4, 4])),
    case("x[0, [1, 2]]", lambda m, x: x[0, [1, 2]], lambda x: x[0, [1, 2]], _x345),
    case("x[0-d int tensor]", lambda m, x, i: x[i], lambda x, i: x[i], _x345, np.array(2)),
    case("x[int32 idx]", lambda m, x, i: x[i], lambda x, i: x[i], _x345,
         np.array([-1, 0], dtype=np.int32)),
    case("x[empty idx]", lambda m, x, i: x[i], lambda x, i: x[i], _x345,
         np.zeros(0, dtype=np.int64)),
    case("x[mask]", lambda m, x, k: x[k], lambda x, k: x[k], gen.randn(3, 4), gen.bools(3, 4)),
    case("x[row mask]", lambda m, x, k: x[k], lambda x, k: x[k], _x345,
         np.array([True, False, True])),
    case("x[:, mask]", lambda m, x, k: x[:, k], lambda x, k: x[:, k], _x345,
         np.array([False, True, True, False])),
    case("x[x > 0]", lambda m, x: x[x > 0], lambda x: x[x > 0], gen.nonzero(3, 4)),
    case("x[all-false mask]", lambda m, x, k: x[k], lambda x, k: x[k], gen.randn(2, 2),
         np.zeros((2, 2), dtype=bool)),
)

_x34 = gen.randn(3, 4)
add(
    case("gather-1", lambda m, x, i: x.gather(1, i), lambda x, i: np.take_along_axis(x, i, 1),
         _x34, np.array([[0, 0], [3, 1], [2, 2]])),
    case("gather-0", lambda m, x, i: m.gather(x, 0, i), lambda x, i: np.take_along_axis(x, i, 0),
         _x34, gen.ints(0, 3, 2, 4)),
    case("gather-neg", lambda m, x, i: x.gather(-1, i), lambda x, i: np.take_along_axis(x, i, -1),
         _x345, gen.ints(0, 5, 3, 4, 7)),
    # The index may be smaller than the input outside ``dim`` (PyTorch's rule).
    case("gather-smaller", lambda m, x, i: x.gather(1, i), lambda x, i: np.take_along_axis(
        x[:2, :], i, 1), _x34, np.array([[1, 1, 0], [3, 2, 3]])),
    case("gather-scalar", lambda m, x, i: x.gather(0, i), lambda x, i: x, gen.randn(),
         np.array(0)),
    case("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1),
         lambda x, i: np.take_along_axis(x, i, 1), _x34, gen.ints(0, 4, 3, 2)),
    case("index_select-0", lambda m, x, i: x.index_select(0, i), lambda x, i: x[i], _x34,
         np.array([2, 0, 2, 1])),
    case("index_select-neg", lambda m, x, i: m.index_select(x, -1, i), lambda x, i: x[:, i],
         _x34, np.array([3, 3])),
    case("index_select-empty", lambda m, x, i: x.index_select(1, i), lambda x, i: x[:, i],
         _x34, np.zeros(0, dtype=np.int64)),
)


def np_scatter_add(base, dim, index, src):
    out = base.copy()
    for position in np.ndindex(*index.shape):
        target = list(position)
        target[dim] = index[position]
        out[tuple(target)] += src[position]
    return out


add(
    case("scatter_add-1", lambda m, x, i, s: x.scatter_add(1, i, s),
         lambda x, i, s: np_scatter_add(x, 1, i, s), gen.randn(3, 5),
         np.array([[0, 0], [4, 1], [2, 2]]), gen.randn(3, 2)),
    case("scatter_add-0", lambda m, x, i, s: m.scatter_add(x, 0, i, s),
         lambda x, i, s: np_scatter_add(x, 0, i, s), gen.randn(3, 4), gen.ints(0, 3, 5, 4),
         gen.randn(5, 4)),
    # ``src`` larger than ``index``: only its leading part is added (PyTorch's backward
    # rejects this case, so there is nothing to compare against).
    case("scatter_add-big-src", lambda m, x, i, s: x.scatter_add(-1, i, s),
         lambda x, i, s: np_scatter_add(x, 1, i, s), gen.randn(3, 5), gen.ints(0, 5, 2, 3),
         gen.randn(3, 4), torch_fn=None),
    case("pad-last", lambda m, x: m.pad(x, (1, 2)),
         lambda x: np.pad(x, ((0, 0), (1, 2))), gen.randn(2, 3),
         torch_fn=lambda m, x: m.nn.functional.pad(x, (1, 2))),
    case("pad-two-dims-value", lambda m, x: m.pad(x, (1, 0, 0, 2), value=1.5),
         lambda x: np.pad(x, ((0, 0), (0, 2), (1, 0)), constant_values=1.5), _x234,
         torch_fn=lambda m, x: m.nn.functional.pad(x, (1, 0, 0, 2), value=1.5)),
    case("pad-empty", lambda m, x: m.pad(x, (1, 1)), lambda x: np.pad(x, ((0, 0), (1, 1))),
         gen.randn(2, 0), torch_fn=lambda m, x: m.nn.functional.pad(x, (1, 1))),
    case("masked_fill", lambda m, x, k: x.masked_fill(k, 0.5), lambda x, k: np.where(k, 0.5, x),
         gen.randn(2, 3), gen.bools(3)),
)

# -- copies and casts ---------------------------------------------------------------------------

add(
    case("clone", lambda m, x: x.clone(), lambda x: x, gen.randn(2, 3)),
    case("clone-int64", lambda m, x: x.clone(), lambda x: x, gen.ints(0, 5, 3), grad=False),
    case("contiguous", lambda m, x: x.T.contiguous(), lambda x: x.T, gen.randn(2, 3)),
    case("double", lambda m, x: x.double(), lambda x: x.astype(np.float64),
         gen.randn(2, 3).astype(np.float32)),
    case("float", lambda m, x: x.float(), lambda x: x.astype(np.float32), gen.randn(2, 3),
         grad=False),
    # Through float32 and back: finite differences need a step float32 can resolve.
    case("to-float32-and-back", lambda m, x: (x.to(m.float32) * 2).to(m.float64),
         lambda x: (x.astype(np.float32) * 2).astype(np.float64), gen.randn(2, 3),
         eps=1e-3, rtol=1e-3, atol=1e-4),
    case("to-dtype-of", lambda m, x, y: x.to(y), lambda x, y: x.astype(y.dtype),
         gen.randn(3), gen.ints(0, 2, 1), grad=False),
    case("long", lambda m, x: x.long(), lambda x: x.astype(np.int64), gen.randn(5) * 3,
         grad=False),
    case("int", lambda m, x: x.int(), lambda x: x.astype(np.int32), gen.ints(-9, 9, 5),
         grad=False),
    case("bool", lambda m, x: x.bool(), lambda x: x.astype(bool),
         np.array([0.0, 1.5, -2.0, 0.0]), grad=False),
    case("bool-to-float", lambda m, x: x.float(), lambda x: x.astype(np.float32),
         gen.bools(2, 2), grad=False),
    case("half", lambda m, x: x.half(), lambda x: x.astype(np.float16), gen.randn(3),
         grad=False),
    case("lerp", lambda m, a, b: m.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a),
         gen.randn(2, 3), gen.randn(3)),
    case("square", lambda m, x: x.square(), np.square, gen.randn(2, 3)),
    case("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5),
         lambda a, b, c: a + 0.5 * b * c, gen.randn(2, 3), gen.randn(3), gen.randn(2, 1)),
    case("addcdiv", lambda m, a, b, c: m.addcdiv(a, b, c, value=-2.0),
         lambda a, b, c: a - 2.0 * b / c, gen.randn(2, 3), gen.randn(2, 3), gen.positive(3)),
)

# -- matmul and einsum --------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 1)),
    ((0, 4), (4, 2)),
    ((3, 0), (0, 2)),
    ((2, 0, 3, 4), (4, 1)),
]
for _sa, _sb in MATMUL_SHAPES:
    add(case(f"a@b-{shape_id(_sa)}-{shape_id(_sb)}", lambda m, a, b: a @ b, np.matmul,
             gen.randn(*_sa), gen.randn(*_sb)))
add(
    case("fg.matmul", lambda m, a, b: m.matmul(a, b), np.matmul, gen.randn(3), gen.randn(3, 2)),
    case("Tensor.matmul", lambda m, a, b: a.matmul(b), np.matmul, gen.randn(2, 3),
         gen.randn(3)),
    case("mm", lambda m, a, b: m.mm(a, b), np.matmul, gen.randn(2, 3), gen.randn(3, 4)),
    case("bmm", lambda m, a, b: a.bmm(b), np.matmul, gen.randn(2, 2, 3), gen.randn(2, 3, 1)),
    case("dot", lambda m, a, b: m.dot(a, b), np.dot, gen.randn(4), gen.randn(4)),
    case("outer", lambda m, a, b: a.outer(b), np.outer, gen.randn(3), gen.randn(2)),
    case("a@b-int64", lambda m, a, b: a @ b, np.matmul, gen.ints(-3, 4, 2, 3),
         gen.ints(-3, 4, 3, 2), grad=False),
    case("a@b-float32", lambda m, a, b: a @ b, np.matmul, gen.randn(2, 3).astype(np.float32),
         gen.randn(3, 2).astype(np.float32)),
)

EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (2, 4, 1)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ba,ca", [(3, 4), (2, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,j->ij", [(3,), (2,)]),
    ("bi,bi->b", [(2, 5), (2, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("...i,...i->...", [(2, 3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i,ij,j", [(3,), (3, 4), (4,)]),
    ("ij,ij->ij", [(0, 3), (0, 3)]),
]
for _equation, _shapes in EINSUMS:
    add(case(f"einsum-{_equation}-{'-'.join(map(shape_id, _shapes))}",
             lambda m, *xs, eq=_equation: m.einsum(eq, *xs),
             lambda *xs, eq=_equation: np.einsum(eq, *xs),
             *(gen.randn(*s) for s in _shapes)))
add(case("einsum-list", lambda m, a, b: m.einsum("ij,jk->ik", [a, b]),
         lambda a, b: a @ b, gen.randn(2, 3), gen.randn(3, 2)))

# -- special functions --------------------------------------------------------------------------

_math_erf = np.vectorize(math.erf, otypes=[np.float64])
_special = Inputs(seed=7)  # its own stream: rows above and below keep their inputs
# Every interval of the kernel: the centre |x| <= 1, the tails up to 6, and the saturation.
_ERF_INPUTS = np.concatenate([_special.uniform(-1.0, 1.0, 6), _special.uniform(1.0, 3.0, 3),
                              -_special.uniform(1.0, 3.0, 3), _special.uniform(3.0, 6.0, 3),
                              -_special.uniform(3.0, 6.0, 3), [7.5, -9.0, 0.0]])
add(
    case("erf", lambda m, x: x.erf(), _math_erf, _ERF_INPUTS),
    case("fg.erf", lambda m, x: m.erf(x), _math_erf, _special.randn(2, 3)),
    case("erf-scalar", lambda m, x: x.erf(), _math_erf, _special.randn()),
    case("erf-2x0x3", lambda m, x: x.erf(), _math_erf, _special.randn(2, 0, 3)),
    case("erf-float32", lambda m, x: x.erf(), lambda x: _math_erf(x).astype(np.float32),
         _special.randn(4, 3).astype(np.float32), rtol=1e-4, atol=1e-5),
)

# -- convolution, pooling, resampling -----------------------------------------------------------
# References loop over output pixels (a direct definition, independent of im2col).

_nn = Inputs(seed=11)  # its own stream: rows above and below keep their inputs


def np_conv2d(x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
              groups=1):
    x = np.pad(x, ((0, 0), (0, 0), *padding))
    out_channels, per_group, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], out_channels, oh, ow), dtype=x.dtype)
    og = out_channels // groups
    for i in range(oh):
        for j in range(ow):
            top, left = i * sh, j * sw
            patch = x[:, :, top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]
            for g in range(groups):
                out[:, g * og:(g + 1) * og, i, j] = np.einsum(
                    "nckl,ockl->no", patch[:, g * per_group:(g + 1) * per_group],
                    w[g * og:(g + 1) * og])
    return out if b is None else out + b[:, None, None]


def np_conv_transpose2d(x, w, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                        dilation=(1, 1), groups=1):
    """Each input pixel adds ``pixel * kernel`` to the output (the adjoint of conv2d)."""
    n, c, h, wd = x.shape
    _, per_group, kh, kw = w.shape
    size = [(s - 1) * st - 2 * p + d * (k - 1) + o + 1 for s, st, p, d, k, o in
            zip((h, wd), stride, padding, dilation, (kh, kw), output_padding, strict=True)]
    out = np.zeros((n, per_group * groups, size[0] + 2 * padding[0] + kh * dilation[0],
                    size[1] + 2 * padding[1] + kw * dilation[1]), dtype=x.dtype)
    ic = c // groups
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    r, q = i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]
                    for g in range(groups):
                        out[:, g * per_group:(g + 1) * per_group, r, q] += (
                            x[:, g * ic:(g + 1) * ic, i, j] @ w[g * ic:(g + 1) * ic, :, a, b])
    return out[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]


def np_pool2d(x, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False,
              kind="max", count_include_pad=True, divisor_override=None):
    """Max (value and flat index of the first maximum) or average pooling, as PyTorch."""
    n, c, h, w = x.shape
    sizes = []
    for size, k, s, p, d in zip((h, w), kernel, stride, padding, dilation, strict=True):
        span = size + 2 * p - d * (k - 1) - 1
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        sizes.append(out - 1 if ceil_mode and (out - 1) * s >= size + p else out)
    values = np.zeros((n, c, *sizes), dtype=x.dtype)
    indices = np.zeros((n, c, *sizes), dtype=np.int64)
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            top, left = i * stride[0] - padding[0], j * stride[1] - padding[1]
            rows = [top + a * dilation[0] for a in range(kernel[0])]
            cols = [left + b * dilation[1] for b in range(kernel[1])]
            inside = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
            patch = np.stack([x[:, :, r, q] for r, q in inside], -1)
            if kind == "max":
                first = patch.argmax(-1)
                values[:, :, i, j] = patch.max(-1)
                flat = np.array([r * w + q for r, q in inside])
                indices[:, :, i, j] = flat[first]
                continue
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:
                divisor = ((min(top + kernel[0], h + padding[0]) - top)
                           * (min(left + kernel[1], w + padding[1]) - left))
            else:
                divisor = len(inside)
            values[:, :, i, j] = patch.sum(-1) / divisor
    return (values, indices) if kind == "max" else values


def np_adaptive_avg2d(x, size):
    h, w = x.shape[-2:]
    out = np.zeros((*x.shape[:-2], *size), dtype=x.dtype)
    for i in range(size[0]):
        for j in range(size[1]):
            r0, r1 = i * h // size[0], -(-(i + 1) * h // size[0])
            c0, c1 = j * w // size[1], -(-(j + 1) * w // size[1])
            out[..., i, j] = x[..., r0:r1, c0:c1].mean((-2, -1))
    return out


def np_resample_axis(x, axis, out, mode, align_corners=False, scale=None):
    """Resample one axis by PyTorch's source-position rules, pixel by pixel."""
    size = x.shape[axis]
    real = x.dtype.type
    taken = []
    for o in range(out):
        if mode == "nearest":
            ratio = np.float32(1 / scale if scale else size / out)
            taken.append(np.take(x, min(int(np.floor(np.float32(o) * ratio)), size - 1), axis))
            continue
        if align_corners:
            src = real(o) * real((size - 1) / (out - 1) if out > 1 else 0)
        else:
            ratio = real(1 / scale if scale else size / out)
            src = max(ratio * (real(o) + real(0.5)) - real(0.5), real(0))
        low = int(src)
        high = min(low + 1, size - 1)
        weight = src - real(low)
        taken.append((real(1) - weight) * np.take(x, low, axis) + weight * np.take(x, high, axis))
    return np.stack(taken, axis)


def _without_warnings(fn):
    """``fn`` with warnings silenced (PyTorch warns that it copies for asymmetric padding)."""

    def quiet(m, *xs):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(m, *xs)

    return quiet


def _functional(name: str, **kwargs):
    """``fn(lib, x, ...)`` calling ``lib.nn.functional.<name>`` with ``kwargs``."""
    return lambda m, *xs: getattr(m.nn.functional, name)(*xs, **kwargs)


_x2355 = _nn.randn(2, 3, 5, 5)
_x2476 = _nn.randn(2, 4, 7, 6)
add(
    case("conv2d-pad1-bias", _functional("conv2d", padding=1),
         lambda x, w, b: np_conv2d(x, w, b, padding=((1, 1), (1, 1))), _x2355,
         _nn.randn(4, 3, 3, 3), _nn.randn(4)),
    case("conv2d-stride-dilation-groups", _functional("conv2d", stride=(2, 1), padding=(1, 0),
                                                      dilation=(1, 2), groups=2),
         lambda x, w: np_conv2d(x, w, None, (2, 1), ((1, 1), (0, 0)), (1, 2), 2), _x2476,
         _nn.randn(6, 2, 3, 2)),
    case("conv2d-same-even-kernel", _functional("conv2d", padding="same"),
         lambda x, w: np_conv2d(x, w, padding=((0, 1), (1, 1))), _nn.randn(1, 2, 5, 4),
         _nn.randn(3, 2, 2, 3), torch_fn=_without_warnings(_functional("conv2d",
                                                                       padding="same"))),
    case("conv2d-valid-1x1", _functional("conv2d", padding="valid"),
         lambda x, w, b: np_conv2d(x, w, b), _x2355, _nn.randn(5, 3, 1, 1), _nn.randn(5)),
    # More output channels than output pixels: the weight gradient's other matmul layout.
    case("conv2d-many-channels", _functional("conv2d", stride=2),
         lambda x, w: np_conv2d(x, w, stride=(2, 2)), _x2355, _nn.randn(12, 3, 2, 2)),
    case("conv2d-unbatched", _functional("conv2d", padding=(0, 1)),
         lambda x, w: np_conv2d(x[None], w, padding=((0, 0), (1, 1)))[0], _x2355[0],
         _nn.randn(2, 3, 2, 2)),
    case("conv2d-float32", _functional("conv2d", padding=1),
         lambda x, w, b: np_conv2d(x, w, b, padding=((1, 1), (1, 1))),
         _x2355.astype(np.float32), _nn.randn(4, 3, 3, 3).astype(np.float32),
         _nn.randn(4).astype(np.float32), rtol=1e-4, atol=1e-5),
    case("conv1d", _functional("conv1d", stride=2, padding=1, dilation=2),
         lambda x, w, b: np_conv2d(x[:, :, None], w[:, :, None], b, (1, 2),
                                   ((0, 0), (1, 1)), (1, 2))[:, :, 0],
         _nn.randn(2, 3, 9), _nn.randn(4, 3, 3), _nn.randn(4)),
    case("conv_transpose2d", _functional("conv_transpose2d", stride=(2, 3), padding=(1, 0),
                                         output_padding=(1, 2), groups=2, dilation=(1, 2)),
         lambda x, w, b: np_conv_transpose2d(x, w, (2, 3), (1, 0), (1, 2), (1, 2), 2)
         + b[:, None, None], _nn.randn(2, 4, 3, 3), _nn.randn(4, 3, 3, 2), _nn.randn(6)),
    # output_padding >= stride (allowed below the dilation): rows that no input pixel reaches.
    case("conv_transpose2d-wide-output-padding",
         _functional("conv_transpose2d", output_padding=1, dilation=2),
         lambda x, w: np_conv_transpose2d(x, w, output_padding=(1, 1), dilation=(2, 2)),
         _nn.randn(1, 2, 3, 3), _nn.randn(2, 2, 2, 2)),
    case("conv_transpose1d", _functional("conv_transpose1d", stride=2, padding=1),
         lambda x, w: np_conv_transpose2d(x[:, :, None], w[:, :, None], (1, 2), (0, 1))[:, :, 0],
         _nn.randn(2, 4, 5), _nn.randn(4, 2, 3)),
)

_d2366 = _nn.distinct(2, 3, 6, 6)
add(
    case("max_pool2d-2", _functional("max_pool2d", kernel_size=2),
         lambda x: np_pool2d(x, (2, 2), (2, 2))[0], _d2366),
    case("max_pool2d-3-2-1-ceil", _functional("max_pool2d", kernel_size=3, stride=2, padding=1,
                                              ceil_mode=True),
         lambda x: np_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode=True)[0],
         _nn.distinct(1, 2, 8, 7)),
    case("max_pool2d-dilation-indices",
         _functional("max_pool2d", kernel_size=(2, 3), stride=(1, 2), padding=(1, 1),
                     dilation=(2, 1), return_indices=True),
         lambda x: np_pool2d(x, (2, 3), (1, 2), (1, 1), (2, 1)), _nn.distinct(1, 2, 7, 9)),
    # A window wider than the row: offsets do not grow with the kernel position.
    case("max_pool2d-wide-window", _functional("max_pool2d", kernel_size=(2, 3), stride=1,
                                               padding=(0, 1), dilation=(1, 2)),
         lambda x: np_pool2d(x, (2, 3), (1, 1), (0, 1), (1, 2))[0], _nn.distinct(1, 2, 5, 4)),
    case("max_pool2d-float32", _functional("max_pool2d", kernel_size=2),
         lambda x: np_pool2d(x, (2, 2), (2, 2))[0], _d2366.astype(np.float32)),
    # Ties: the first maximum in the window takes the gradient (as PyTorch).
    case("max_pool2d-ties", _functional("max_pool2d", kernel_size=2, stride=1),
         lambda x: np_pool2d(x, (2, 2), (1, 1))[0], np.array([[[[1.0, 1.0, 0.0],
                                                                [1.0, 1.0, 2.0]]]]), fd=False),
    case("max_pool1d-indices", _functional("max_pool1d", kernel_size=3, stride=2, padding=1,
                                           return_indices=True),
         lambda x: tuple(a[:, :, 0] for a in np_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1))),
         _nn.distinct(2, 3, 8)),
    case("avg_pool2d-2", _functional("avg_pool2d", kernel_size=2),
         lambda x: np_pool2d(x, (2, 2), (2, 2), kind="avg"), _x2476),
    case("avg_pool2d-3-2-1-ceil", _functional("avg_pool2d", kernel_size=3, stride=2, padding=1,
                                              ceil_mode=True),
         lambda x: np_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode=True, kind="avg"), _x2476),
    case("avg_pool2d-exclude-pad", _functional("avg_pool2d", kernel_size=3, stride=2, padding=1,
                                               ceil_mode=True, count_include_pad=False),
         lambda x: np_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode=True, kind="avg",
                             count_include_pad=False), _x2476),
    case("avg_pool2d-divisor", _functional("avg_pool2d", kernel_size=(2, 3),
                                           divisor_override=4),
         lambda x: np_pool2d(x, (2, 3), (2, 3), kind="avg", divisor_override=4), _x2476),
    case("avg_pool1d", _functional("avg_pool1d", kernel_size=4, stride=3, padding=2,
                                   ceil_mode=True),
         lambda x: np_pool2d(x[:, :, None], (1, 4), (1, 3), (0, 2), ceil_mode=True,
                             kind="avg")[:, :, 0], _nn.randn(2, 3, 9)),
    case("adaptive_avg_pool2d-1x1", _functional("adaptive_avg_pool2d", output_size=1),
         lambda x: np_adaptive_avg2d(x, (1, 1)), _x2476),
    case("adaptive_avg_pool2d-tiled", _functional("adaptive_avg_pool2d", output_size=(7, 3)),
         lambda x: np_adaptive_avg2d(x, (7, 3)), _x2476),
    case("adaptive_avg_pool2d-uneven", _functional("adaptive_avg_pool2d",
                                                   output_size=(4, None)),
         lambda x: np_adaptive_avg2d(x, (4, 6)), _x2476),
    case("adaptive_avg_pool1d", _functional("adaptive_avg_pool1d", output_size=4),
         lambda x: np_adaptive_avg2d(x[:, :, None], (1, 4))[:, :, 0], _nn.randn(2, 3, 9)),
)

_x2354 = _nn.randn(2, 3, 5, 4)
add(
    case("interpolate-nearest-2x", _functional("interpolate", scale_factor=2),
         lambda x: np_resample_axis(np_resample_axis(x, 2, 10, "nearest", scale=2), 3, 8,
                                    "nearest", scale=2), _x2354),
    case("interpolate-nearest-size", _functional("interpolate", size=(7, 3)),
         lambda x: np_resample_axis(np_resample_axis(x, 2, 7, "nearest"), 3, 3, "nearest"),
         _x2354),
    case("interpolate-bilinear", _functional("interpolate", scale_factor=(1.5, 0.7),
                                             mode="bilinear"),
         lambda x: np_resample_axis(np_resample_axis(x, 2, 7, "linear", scale=1.5), 3, 2,
                                    "linear", scale=0.7), _x2354),
    case("interpolate-bilinear-align", _functional("interpolate", size=(8, 6), mode="bilinear",
                                                   align_corners=True),
         lambda x: np_resample_axis(np_resample_axis(x, 2, 8, "linear", True), 3, 6, "linear",
                                    True), _x2354),
    case("interpolate-linear", _functional("interpolate", size=7, mode="linear"),
         lambda x: np_resample_axis(x, 2, 7, "linear"), _nn.randn(2, 3, 4)),
    case("interpolate-trilinear", _functional("interpolate", size=(3, 2, 5), mode="trilinear"),
         lambda x: np_resample_axis(np_resample_axis(np_resample_axis(
             x, 2, 3, "linear"), 3, 2, "linear"), 4, 5, "linear"), _nn.randn(1, 2, 2, 3, 4)),
    case("interpolate-bilinear-float32", _functional("interpolate", scale_factor=1.3,
                                                     mode="bilinear"),
         lambda x: np_resample_axis(np_resample_axis(x, 2, 6, "linear", scale=1.3), 3, 5,
                                    "linear", scale=1.3), _x2354.astype(np.float32)),
)

# -- log_softmax (a fused primitive) and softmax ------------------------------------------------

_softmax_inputs = Inputs(seed=11)


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


for _dim in (0, 1, -1):
    add(case(f"log_softmax-dim{_dim}", lambda m, x, d=_dim: m.log_softmax(x, d),
             lambda x, d=_dim: np_log_softmax(x, d), _softmax_inputs.randn(3, 4)),
        case(f"softmax-dim{_dim}", lambda m, x, d=_dim: m.softmax(x, d),
             lambda x, d=_dim: np.exp(np_log_softmax(x, d)), _softmax_inputs.randn(3, 4)))
add(case("log_softmax-3d-large", lambda m, x: x.log_softmax(1),
         lambda x: np_log_softmax(x, 1), _softmax_inputs.randn(2, 3, 2) * 30 + 500),
    case("log_softmax-one-class", lambda m, x: x.log_softmax(-1),
         lambda x: np_log_softmax(x, -1), _softmax_inputs.randn(4, 1)))

# -- softmax cross-entropy (a fused pair: forward, and gradient with its own vjp) ---------------


def np_cross_entropy(x, labels, ignore_index=-100):
    ignored = labels == ignore_index
    picked = np_log_softmax(x, 1)[np.arange(len(labels)), np.where(ignored, 0, labels)]
    return np.where(ignored, 0.0, -picked)


add(case("cross_entropy-none",
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none"),
         np_cross_entropy, _softmax_inputs.randn(5, 4), np.array([0, 3, 1, 3, 2])),
    case("cross_entropy-ignore-large",
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, ignore_index=1, reduction="none"),
         lambda x, t: np_cross_entropy(x, t, 1), _softmax_inputs.randn(4, 3) * 30 + 500,
         np.array([1, 0, 2, 1])),
    case("cross_entropy-mean-ignore",
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, ignore_index=1),
         lambda x, t: np_cross_entropy(x, t, 1).sum() / (t != 1).sum(),
         _softmax_inputs.randn(5, 3), np.array([1, 0, 2, 1, 2])),
    case("cross_entropy-sum",
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="sum"),
         lambda x, t: np_cross_entropy(x, t).sum(), _softmax_inputs.randn(3, 6),
         np.array([5, 0, 5])))

# -- graph mode's run-time shape helpers (called directly here: eager code never needs them) ----

_shape_inputs = Inputs(seed=12)
add(case("sum_to-like", lambda m, g, like: S.sum_to.bind(g, like.detach(), shape=None),
         lambda g, like: g.sum(axis=0).sum(axis=0, keepdims=True),
         _shape_inputs.randn(2, 4, 3), _shape_inputs.randn(1, 3), torch_fn=None),
    case("sum_to-static", lambda m, g: S.sum_to.bind(g, shape=(3,)),
         lambda g: g.sum(axis=(0, 1)), _shape_inputs.randn(2, 4, 3), torch_fn=None),
    case("expand_to", lambda m, g, like: S.expand_to.bind(g, like.detach()),
         lambda g, like: np.broadcast_to(g, like.shape), _shape_inputs.randn(1, 3),
         _shape_inputs.randn(2, 3), torch_fn=None),
    case("reshape_to", lambda m, g, like: S.reshape_to.bind(g, like.detach()),
         lambda g, like: g.reshape(like.shape), _shape_inputs.randn(2, 3),
         _shape_inputs.randn(3, 2), torch_fn=None),
    case("count", lambda m, x: R.count.bind(x, axes=(1,), dtype=np.float32),
         lambda x: np.array(3, dtype=np.float32), _shape_inputs.randn(2, 3), grad=False,
         torch_fn=None),
    *(case(name, lambda m, x, n=name: getattr(x, n)(), reference,
           np.array([1.0, np.inf, np.nan, -np.inf, 0.0]), grad=False)
      for name, reference in (("isfinite", np.isfinite), ("isnan", np.isnan),
                              ("isinf", np.isinf))),
    case("after", lambda m, x, effect: S.after.bind(x, effect.detach()), lambda x, e: x,
         _shape_inputs.randn(2, 3), _shape_inputs.randn(4), torch_fn=None),
    case("draw-constant-integers",
         lambda m, token: draw.bind(token, kind="integers", shape=(2, 3), dtype=np.int64,
                                    generator=None, low=5, high=6),
         lambda token: np.full((2, 3), 5), np.zeros(0), grad=False, torch_fn=None),
    case("keep_mask-p0", lambda m, x: keep_mask.bind(x, p=0.0, channel_dims=1, generator=None),
         lambda x: np.ones((2, 1), x.dtype), _shape_inputs.randn(2, 3), grad=False,
         torch_fn=None),
    case("full_like", lambda m, x: E.full_like.bind(x, value=2.5, dtype=np.float32),
         lambda x: np.full_like(x, 2.5, dtype=np.float32), _shape_inputs.randn(2, 3), grad=False,
         torch_fn=None))

# -- second order -------------------------------------------------------------------------------

SECOND_ORDER = [
    case("2nd-cross_entropy",
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, ignore_index=0, reduction="none"),
         lambda x, t: np_cross_entropy(x, t, 0), _softmax_inputs.randn(4, 3),
         np.array([2, 0, 1, 2])),
    case("2nd-tanh", lambda m, x: x.tanh(), np.tanh, gen.randn(2, 3)),
    case("2nd-sigmoid", lambda m, x: x.sigmoid(), expit, gen.randn(2, 3)),
    case("2nd-exp", lambda m, x: x.exp(), np.exp, gen.randn(3)),
    case("2nd-log_softmax", lambda m, x: x.log_softmax(-1), lambda x: np_log_softmax(x, -1),
         _softmax_inputs.randn(2, 3)),
    case("2nd-log", lambda m, x: x.log(), np.log, gen.positive(3)),
    case("2nd-sin", lambda m, x: x.sin(), np.sin, gen.randn(3)),
    case("2nd-cos", lambda m, x: x.cos(), np.cos, gen.randn(3)),
    case("2nd-sqrt", lambda m, x: x.sqrt(), np.sqrt, gen.positive(3)),
    case("2nd-rsqrt", lambda m, x: x.rsqrt(), lambda x: x ** -0.5, gen.positive(3)),
    case("2nd-mul", lambda m, a, b: a * b, np.multiply, gen.randn(2, 3), gen.randn(3)),
    case("2nd-x*x*x", lambda m, x: x * x * x, lambda x: x ** 3, gen.randn(4)),
    case("2nd-div", lambda m, a, b: a / b, np.divide, gen.randn(3), gen.nonzero(3)),
    case("2nd-pow-scalar", lambda m, x: x ** 3, lambda x: x ** 3, gen.randn(2, 2)),
    case("2nd-pow", lambda m, a, b: a ** b, np.power, gen.positive(3), gen.randn(3)),
    case("2nd-matmul", lambda m, a, b: a @ b, np.matmul, gen.randn(2, 3), gen.randn(3, 2)),
    case("2nd-matmul-batched", lambda m, a, b: (a @ b) ** 2, lambda a, b: np.matmul(a, b) ** 2,
         gen.randn(2, 2, 3), gen.randn(3, 2)),
    case("2nd-dot", lambda m, a, b: (a @ b) * (a @ b), lambda a, b: np.dot(a, b) ** 2,
         gen.randn(3), gen.randn(3)),
    case("2nd-einsum", lambda m, a, b: m.einsum("ij,jk->ik", a, b).tanh(),
         lambda a, b: np.tanh(a @ b), gen.randn(2, 3), gen.randn(3, 2)),
    case("2nd-logsumexp", lambda m, x: x.logsumexp(-1), lambda x: np_logsumexp(x, -1, False),
         gen.randn(2, 4)),
    case("2nd-prod", lambda m, x: x.prod(-1), lambda x: np.prod(x, -1), gen.nonzero(2, 3)),
    case("2nd-var", lambda m, x: x.var(0), lambda x: np.var(x, 0, ddof=1), gen.randn(4, 2)),
    case("2nd-getitem", lambda m, x: x[1:, ::2] ** 3, lambda x: x[1:, ::2] ** 3,
         gen.randn(3, 4)),
    case("2nd-index", lambda m, x, i: x[i] ** 3, lambda x, i: x[i] ** 3, gen.randn(4),
         np.array([0, 3, 3])),
    case("2nd-gather", lambda m, x, i: x.gather(1, i).exp(),
         lambda x, i: np.exp(np.take_along_axis(x, i, 1)), gen.randn(2, 3),
         np.array([[0, 0], [2, 1]])),
    case("2nd-amax", lambda m, x: x.amax(1) ** 2, lambda x: np.amax(x, 1) ** 2,
         gen.distinct(2, 3)),
    case("2nd-where", lambda m, c, a: m.where(c, a * a, a.exp()),
         lambda c, a: np.where(c, a * a, np.exp(a)), gen.bools(4), gen.randn(4)),
    case("2nd-erf", lambda m, x: x.erf(), _math_erf, _special.randn(2, 3)),
    case("2nd-conv2d", lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1).tanh(),
         lambda x, w, b: np.tanh(np_conv2d(x, w, b, padding=((1, 1), (1, 1)))),
         _nn.randn(1, 2, 4, 4), _nn.randn(3, 2, 3, 3, scale=0.5), _nn.randn(3)),
    case("2nd-conv2d-no-bias", lambda m, x, w: m.nn.functional.conv2d(x, w, stride=2).tanh(),
         lambda x, w: np.tanh(np_conv2d(x, w, stride=(2, 2))), _nn.randn(1, 2, 5, 5),
         _nn.randn(3, 2, 2, 2, scale=0.5)),
    case("2nd-max_pool2d", lambda m, x: m.nn.functional.max_pool2d(x, 2) ** 2,
         lambda x: np_pool2d(x, (2, 2), (2, 2))[0] ** 2, _nn.distinct(1, 2, 4, 4)),
    case("2nd-avg_pool2d", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1) ** 2,
         lambda x: np_pool2d(x, (3, 3), (2, 2), (1, 1), kind="avg") ** 2, _nn.randn(1, 2, 5, 5)),
]

# -- the tests ----------------------------------------------------------------------------------

_names = [c.name for c in CASES + SECOND_ORDER]
assert len(set(_names)) == len(_names), (
    f"op-table case names must be unique: {sorted({n for n in _names if _names.count(n) > 1})}"
)
TORCH_CASES = [c for c in CASES if c.torch_fn is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_op(case: Case) -> None:
    """Forward vs NumPy, gradients vs finite differences, shape/dtype rules vs kernels."""
    check_case(case)


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
def test_second_order(case: Case) -> None:
    check_case(case)
    check_second_order(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_op_against_torch(case: Case) -> None:
    torch = pytest.importorskip("torch")
    check_against_torch(case, torch)


@pytest.mark.torch
@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
def test_second_order_against_torch(case: Case) -> None:
    torch = pytest.importorskip("torch")
    check_against_torch(case, torch, second_order=True)


def test_every_primitive_is_exercised() -> None:
    """Every registered primitive runs somewhere in the table (forward or gradient), and
    every primitive that runs is registered: a new primitive without a row fails here."""
    log = exercise(CASES, SECOND_ORDER)
    log.check()
    problems = coverage_problems(log, PRIMITIVES, defined_primitives())
    assert not problems, "\n".join(problems)

