"""optimizer.minimize: every optimizer's own rule in a graph, step for step as eager."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import GraphError

RNG = np.random.default_rng(3)
X = RNG.standard_normal((8, 3)).astype(np.float32)
Y = RNG.standard_normal((8, 2)).astype(np.float32)
W0 = RNG.standard_normal((3, 2)).astype(np.float32)
B0 = RNG.standard_normal(2).astype(np.float32)

CONFIGS = [
    (fg.optim.SGD, {"lr": 0.1}),
    (fg.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    (fg.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (fg.optim.Adam, {"lr": 0.05}),
    (fg.optim.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    (fg.optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    (fg.optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (fg.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
    (fg.optim.SGD, {"lr": 0.1, "maximize": True}),
]


def loss_of(w, b, x, y):
    return ((x.matmul(w) + b - y) ** 2).mean()


def eager_run(cls, options, steps):
    w, b = fg.tensor(W0, requires_grad=True), fg.tensor(B0, requires_grad=True)
    opt = cls([w, b], **options)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(w, b, fg.tensor(X), fg.tensor(Y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, w.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize(("cls", "options"), CONFIGS,
                         ids=[f"{c.__name__}-{sorted(o)}" for c, o in CONFIGS])
def test_graph_training_matches_eager_step_for_step(cls, options):
    steps = 5
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        y = fg.placeholder(fg.float32, shape=(None, 2), name="y")
        w, b = fg.Variable(W0, name="w"), fg.Variable(B0, name="b")
        loss = loss_of(w, b, x, y)
        train = cls(**options).minimize(loss)
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            losses = [sess.run([loss, train], {x: X, y: Y})[0] for _ in range(steps)]
            final_w, final_b = sess.run([w, b])
    expected_losses, expected_w, expected_b = eager_run(cls, options, steps)
    np.testing.assert_allclose(losses, expected_losses, rtol=2e-5)
    np.testing.assert_allclose(final_w, expected_w, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(final_b, expected_b, rtol=2e-5, atol=1e-6)


def test_state_lives_in_non_trainable_slot_variables():
    with fg.Graph().as_default():
        w = fg.Variable(np.ones(2, np.float32), name="w")
        fg.optim.Adam(lr=0.1).minimize((w * w).sum())
        names = [v.name for v in fg.global_variables()]
        assert names == ["w", "Adam/w/step", "Adam/w/exp_avg", "Adam/w/exp_avg_sq"]
        assert [v.name for v in fg.trainable_variables()] == ["w"]


def test_var_list_limits_what_is_trained():
    with fg.Graph().as_default():
        a, b = fg.Variable(1.0, name="a"), fg.Variable(1.0, name="b")
        train = fg.optim.SGD(lr=0.5).minimize(a * b, var_list=[b])
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            sess.run(train)
            assert sess.run([a, b]) == [1.0, 0.5]


def test_minimize_errors():
    with pytest.raises(TypeError, match=r"SGD\.minimize: loss must be a symbolic tensor"):
        fg.optim.SGD(lr=0.1).minimize(fg.ones(()))
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(), name="x")
        with pytest.raises(GraphError, match="no trainable variables"):
            fg.optim.SGD(lr=0.1).minimize(x * x)
        v = fg.Variable(1.0, name="v")
        with pytest.raises(GraphError, match=r"does not depend on any of the variables \['v'\]"):
            fg.optim.SGD(lr=0.1).minimize(x * x, var_list=[v])
        with pytest.raises(ValueError, match="lr must be >= 0"):
            fg.optim.SGD(lr=-1.0)
