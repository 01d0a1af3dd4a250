"""The op-test helper catches what it is meant to catch: broken primitives fail it.

Each test declares a deliberately wrong primitive (outside ``PRIMITIVES``) and checks that
the helper rejects it, so a passing op table means something.
"""

from __future__ import annotations

import numpy as np
import pytest
from optest import (
    case,
    check_against_torch,
    check_case,
    check_second_order,
    coverage_problems,
    exercise,
    recording_binds,
)

import flowgrad as fg
from flowgrad.ops import PRIMITIVES, Primitive
from flowgrad.ops.rules import unary


def _same_shape(x):
    return tuple(x.shape), np.dtype(x.dtype)


def square_primitive(vjp, infer=_same_shape, forward=np.square) -> Primitive:
    return Primitive("square_under_test", forward, infer, vjp, save_inputs=(0,))


def _right_vjp(ctx, g):
    return (g * ctx.inputs[0] * 2,)


def square_case(primitive: Primitive, **options):
    x = np.array([[0.5, -1.5, 2.0], [1.0, -0.3, 0.7]])
    return case("square", lambda m, t: primitive.bind(t) if m is fg else t * t, np.square, x,
                primitives=(primitive,), **options)


def test_a_correct_primitive_passes():
    log = check_case(square_case(square_primitive(_right_vjp)))
    assert log.count > 0 and not log.problems


def test_a_wrong_gradient_fails():
    wrong = square_primitive(lambda ctx, g: (g * ctx.inputs[0],))  # forgot the factor 2
    with pytest.raises(AssertionError, match="finite differences"):
        check_case(square_case(wrong))


def test_a_wrong_forward_fails():
    wrong = square_primitive(_right_vjp, forward=lambda x: x ** 2 + 1e-6)
    with pytest.raises(AssertionError, match="forward output 0"):
        check_case(square_case(wrong))


def test_a_wrong_output_dtype_fails():
    wrong = square_primitive(_right_vjp, forward=lambda x: np.square(x).astype(np.float32))
    with pytest.raises(AssertionError, match="dtype float32, expected float64"):
        check_case(square_case(wrong))


def test_a_shape_rule_that_disagrees_with_the_kernel_fails():
    def keeps_only_first_dim(x):
        return (x.shape[0],), np.dtype(x.dtype)

    wrong = square_primitive(_right_vjp, infer=keeps_only_first_dim)
    with pytest.raises(AssertionError, match="infer gave"):
        check_case(square_case(wrong))


def test_a_dtype_rule_that_disagrees_with_the_kernel_fails():
    def says_float32(x):
        return tuple(x.shape), np.dtype(np.float32)

    with pytest.raises(AssertionError, match="infer gave"):
        check_case(square_case(square_primitive(_right_vjp, infer=says_float32)))


def test_a_shape_rule_that_raises_fails():
    def rejects(x):
        raise fg.errors.ShapeError("no")

    with pytest.raises(AssertionError, match="infer raised ShapeError"):
        check_case(square_case(square_primitive(_right_vjp, infer=rejects)))


def test_the_recorder_sees_primitives_inside_gradient_rules():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with recording_binds() as log:
        (x.tanh().sum()).backward()
    names = {p.name for p in log.primitives}
    # tanh's gradient rule is g * (1 - out * out): mul and sub run only in backward.
    assert {"tanh", "sum", "broadcast_to", "mul", "sub"} <= names
    assert not log.problems


def test_the_recorder_restores_the_kernels():
    kernels = {prim: prim.forward for prim in PRIMITIVES.values()}
    with pytest.raises(RuntimeError), recording_binds():
        raise RuntimeError
    assert all(prim.forward is kernel for prim, kernel in kernels.items())


def test_a_gradient_that_is_not_differentiable_fails_second_order():
    # Right first derivative, but computed from raw arrays: it has no graph of its own.
    detached = square_primitive(
        lambda ctx, g: (g * fg.tensor(ctx.inputs[0]._data * 2),)
    )
    c = square_case(detached)
    check_case(c)
    with pytest.raises(AssertionError, match="second-order"):
        check_second_order(c)


def test_an_unexercised_primitive_is_reported():
    extra = square_primitive(_right_vjp)
    registry = {**PRIMITIVES, extra.name: extra}
    log = exercise([case("add", lambda m, a, b: a + b, np.add, np.ones(2), np.ones(2))])
    problems = coverage_problems(log, registry, set(registry.values()))
    assert "'square_under_test'" in problems[0] and "'add'" not in problems[0]


def test_an_unregistered_primitive_is_reported():
    extra = square_primitive(_right_vjp)
    log = exercise([square_case(extra)], extra=(extra,))
    assert extra in log.primitives
    problems = coverage_problems(log, PRIMITIVES, set(PRIMITIVES.values()))
    assert any("not in PRIMITIVES: ['square_under_test']" in p for p in problems)


def test_a_nan_reference_is_rejected():
    c = case("nan", lambda m, x: x.sqrt(), np.sqrt, np.array([-1.0, 4.0]), grad=False,
             quiet=True)
    with pytest.raises(AssertionError, match="NaN reference"):
        check_case(c)


@pytest.mark.torch
def test_a_gradient_different_from_torch_fails():
    torch = pytest.importorskip("torch")
    wrong = square_primitive(lambda ctx, g: (g * ctx.inputs[0] * 2.001,))
    with pytest.raises(AssertionError, match="vs PyTorch"):
        check_against_torch(square_case(wrong), torch)


def test_unary_rule_is_used_by_the_table_primitives():
    # A sanity check of the stand-in rule used above against a real one.
    assert unary("x")(np.ones((2, 3))) == _same_shape(np.ones((2, 3)))
