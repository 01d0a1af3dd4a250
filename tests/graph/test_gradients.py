"""fg.gradients: the eager gradient rules, built as graph nodes."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import GraphError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
B = RNG.standard_normal(3)


def run(fetches, feed):
    with fg.Session() as sess:
        return sess.run(fetches, feed)


def test_gradients_match_eager_autograd_with_an_unknown_batch():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float64, shape=(None, 3), name="x")
        b = fg.placeholder(fg.float64, shape=(3,), name="b")
        loss = fg.tanh(x * b + b).sum(dim=1).mean()
        gx, gb = fg.gradients(loss, [x, b])
        assert gx.shape == (None, 3) and gb.shape == (3,)
        got = run([gx, gb], {x: X, b: B})
    xe, be = fg.tensor(X, requires_grad=True), fg.tensor(B, requires_grad=True)
    ex, eb = fg.autograd.grad(fg.tanh(xe * be + be).sum(dim=1).mean(), [xe, be])
    np.testing.assert_allclose(got[0], ex.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[1], eb.numpy(), rtol=1e-12)


def test_unconnected_inputs_get_none_and_grad_ys_weights():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float64, shape=(3,), name="x")
        other = fg.placeholder(fg.float64, shape=(3,), name="other")
        y = x * x
        gx, gother = fg.gradients(y, [x, other], grad_ys=fg.constant(np.array([1.0, 0.0, 2.0])))
        assert gother is None
        np.testing.assert_allclose(run(gx, {x: [1.0, 2.0, 3.0]}), [2.0, 0.0, 12.0])


def test_second_order_gradients():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float64, shape=(3,), name="x")
        (g,) = fg.gradients((x**3).sum(), [x])
        (gg,) = fg.gradients(g.sum(), [x])
        np.testing.assert_allclose(run(gg, {x: [1.0, -2.0, 0.5]}), [6.0, -12.0, 3.0])


def test_gradient_with_respect_to_an_intermediate_and_unknown_rank():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, name="x")  # any rank
        w = fg.Variable(2.0, name="w")
        h = w * x
        gh, gw = fg.gradients((h * h).mean(), [h, w])
        assert gw.shape == ()
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            data = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
            got_h, got_w = sess.run([gh, gw], {x: data})
    np.testing.assert_allclose(got_h, 2 * 2.0 * data / 4)
    np.testing.assert_allclose(got_w, (2 * 2.0 * data * data).sum() / 4)


def test_gradients_of_an_eager_tensor_are_an_error():
    with pytest.raises(GraphError, match="gradients: expected symbolic"):
        fg.gradients(fg.ones(2), [fg.ones(2)])


def test_backward_in_a_graph_built_by_hand_points_to_gradients():
    layer = fg.nn.Linear(3, 1)
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        loss = layer(x).sum()
        with pytest.raises(GraphError, match=r"use fg\.gradients\(loss, variables\) or "
                                             r"optimizer\.minimize\(loss\)"):
            loss.backward()
    assert layer.weight.grad is None  # nothing was half-done
