"""The generated fast call (guards.py) and the scalar code of plans: the same numbers as the
general path and as eager, and every change the trace depends on is noticed."""

import copy

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.compat import v1 as tf

RNG = np.random.default_rng(1)
X = RNG.standard_normal((6, 4)).astype(np.float32)
Y = RNG.standard_normal((6, 2)).astype(np.float32)


def _trainer(model, optimizer, traced):
    def step(x, y):
        traced.append(1)
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss

    return step


def test_the_fast_call_follows_every_change_the_trace_depends_on():
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.0))
    optimizer = fg.optim.SGD(model.parameters(), lr=0.1)
    twin = copy.deepcopy(model)
    twin_optimizer = fg.optim.SGD(twin.parameters(), lr=0.1)
    traced = []
    compiled = fg.compile(_trainer(model, optimizer, traced))
    eager = _trainer(twin, twin_optimizer, [])

    def both(x, y, expect_traces):
        got, want = compiled(x, y), eager(fg.tensor(x), fg.tensor(y))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
        for a, b in zip(model.parameters(), twin.parameters(), strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6,
                                       atol=1e-7)
        assert len(traced) == expect_traces

    x, y = fg.tensor(X), fg.tensor(Y)
    both(x, y, 1)  # eager
    both(x, y, 2)  # traced
    assert "return MISS" in compiled._fast.source
    both(x, y, 2)  # the fast call
    both(X, Y, 2)  # arrays instead of tensors: the same trace, a fast call of its own
    both(fg.tensor(X[:3]), fg.tensor(Y[:3]), 3)  # a new shape
    both(x, y, 3)  # back: the first trace again
    optimizer.param_groups[0]["lr"] = twin_optimizer.param_groups[0]["lr"] = 0.05
    both(x, y, 3)  # the rate is fed, not traced
    optimizer.param_groups[0]["momentum"] = twin_optimizer.param_groups[0]["momentum"] = 0.5
    # a hyper-parameter is part of the trace; this trace would make the momentum buffer
    # (lazily made state), so it is dropped and the call runs eagerly, making it
    both(x, y, 5)
    assert type(optimizer.state[model[0].weight]["momentum_buffer"]._data) is np.ndarray
    both(x, y, 6)  # traced, with the buffer
    both(x, y, 6)
    model.eval()
    twin.eval()
    both(x, y, 7)  # the training flag is part of the trace
    with pytest.warns(UserWarning, match="traced 6 times: argument 0's requires_grad"):
        both(fg.tensor(X, requires_grad=True), y, 8)  # so is an argument's requires_grad
    both(x.to(fg.float64), y.to(fg.float64), 9)  # and its dtype


def test_the_fast_call_steps_aside_inside_another_trace():
    inner = fg.compile(lambda x: x * 3)
    outer = fg.compile(lambda x: inner(x) + 1)
    x = fg.tensor([1.0, 2.0])
    for _ in range(3):
        inner(x)  # inner's fast call exists now
        assert outer(x).tolist() == [4.0, 7.0]
    assert "mul" in outer.source  # inlined, not called as a compiled graph


def _regression():
    fg.manual_seed(0)

    class Line(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(fg.tensor(0.1))
            self.b = nn.Parameter(fg.tensor(0.1))

        def forward(self, x):
            return self.w * x + self.b

    return Line()


def test_scalar_arithmetic_runs_on_numpy_scalars_with_the_eager_numbers():
    x = np.linspace(0, 1, 20, dtype=np.float32)
    y = (3 * x + 2).astype(np.float32)
    model, twin = _regression(), _regression()
    optimizer = fg.optim.SGD(model.parameters(), lr=0.3)
    twin_optimizer = fg.optim.SGD(twin.parameters(), lr=0.3)
    compiled = fg.compile(_trainer(model, optimizer, []))
    eager = _trainer(twin, twin_optimizer, [])
    for _ in range(6):
        loss = compiled(x, y)
        expected = eager(fg.tensor(x), fg.tensor(y))
        assert type(loss._data) is np.ndarray and loss.dtype == fg.float32
        np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(model.w.detach().numpy(), twin.w.detach().numpy(),
                                   rtol=1e-6)
        assert type(model.w._data) is np.ndarray and model.w.dtype == fg.float32
        assert type(model.w.grad._data) is np.ndarray
    source = compiled.source
    assert "[()]" in source and " * " in source  # the update's scalar products
    casts = [n for n in compiled._latest.plan.program.nodes if n.op == "cast"]
    assert len(casts) == 1  # only the fed rate (float64) is cast, once, to float32


def test_a_session_keeps_zero_d_values_arrays():
    graph = tf.Graph()
    with graph.as_default():
        v = tf.Variable(np.float32(1.5), name="v")
        total = tf.reduce_sum(tf.constant(np.arange(4, dtype=np.float32)))
        update = v.assign(v * 2.0 - total / 4.0)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for expected in (1.5, 4.5 - 3.0):
                got_update, got_total = session.run([update, total])
                assert type(got_update) is np.ndarray and type(got_total) is np.ndarray
                assert got_update.dtype == np.float32
                np.testing.assert_allclose(got_update, expected * 2.0 - 1.5)
            assert type(session.run(v)) is np.ndarray


@pytest.mark.parametrize("op", ["add", "sub"])
def test_a_tensor_alpha_takes_the_operand_dtype(op):
    x = fg.tensor([1.0, 2.0, 3.0])
    y = fg.tensor([0.5, -0.25, 4.0])
    alpha = fg.tensor(0.1, dtype=fg.float64)  # as a traced learning rate is fed
    got = getattr(fg, op)(x, y, alpha=alpha)
    assert got.dtype == fg.float32
    ufunc = np.add if op == "add" else np.subtract
    np.testing.assert_array_equal(got.numpy(), ufunc(x.numpy(), np.float32(0.1) * y.numpy()))
    np.testing.assert_array_equal(got.numpy(), getattr(fg, op)(x, y, alpha=0.1).numpy())
