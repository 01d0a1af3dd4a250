"""Variables: initial values, assignments, collections, captured eager parameters."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError


def test_initial_values_dtypes_and_assignments():
    with fg.Graph().as_default():
        w = fg.Variable([[1.0, 2.0]], name="w")
        n = fg.Variable(3, name="n", dtype=fg.int64)
        d = fg.Variable(np.zeros(2), name="d")  # a float64 array keeps its dtype
        assert (w.dtype, n.dtype, d.dtype) == (fg.float32, fg.int64, fg.float64)
        assert w.shape == (1, 2) and w.name == "w"
        doubled = w.assign(w * 2)
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(doubled), [[2.0, 4.0]])
            np.testing.assert_array_equal(sess.run(w), [[2.0, 4.0]])
            assert sess.run(n.assign_add(2)) == 5 and sess.run(n.assign_sub(1)) == 4
            assert sess.run(n).dtype == np.int64


def test_assign_checks_the_shape():
    with fg.Graph().as_default():
        w = fg.Variable(np.zeros((2, 3), np.float32), name="w")
        with pytest.raises(ShapeError, match=r"w\.assign: value of shape \(3, 2\)"):
            w.assign(np.zeros((3, 2)))


def test_collections_and_initial_value_from_the_graph():
    with fg.Graph().as_default():
        a = fg.Variable(2.0, name="a")
        b = fg.Variable(a.initial_value * 5, name="b", trainable=False)
        assert fg.trainable_variables() == [a]
        assert fg.global_variables() == [a, b]
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            assert sess.run(b) == 10.0


def test_reads_in_one_run_see_the_value_at_its_start():
    with fg.Graph().as_default():
        v = fg.Variable(1.0, name="v")
        bumped = v.assign_add(1.0)
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            before, after = sess.run([v, bumped])
            assert (before, after) == (1.0, 2.0) and sess.run(v) == 2.0


def test_an_eager_parameter_is_captured_and_shares_memory():
    fg.manual_seed(0)
    layer = fg.nn.Linear(3, 2)
    weight_memory = layer.weight._data
    data = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    expected = layer(fg.tensor(data)).detach().numpy()
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
        out = layer(x)
        captured = fg.trainable_variables()
        assert [id(v.storage) for v in captured] == [id(layer.weight), id(layer.bias)]
        layer(x)  # applying the layer again captures nothing new
        assert len(g.variables) == 2
        loss = (out * out).mean()
        train = fg.optim.SGD(lr=0.5).minimize(loss)
        with fg.Session() as sess:
            np.testing.assert_allclose(sess.run(out, {x: data}), expected, rtol=1e-6)
            sess.run(train, {x: data})  # captured parameters need no initialiser
    assert layer.weight._data is weight_memory
    fg.manual_seed(0)
    eager = fg.nn.Linear(3, 2)
    y = eager(fg.tensor(data))
    (y * y).mean().backward()
    with fg.no_grad():
        for p in eager.parameters():
            p -= 0.5 * p.grad
    np.testing.assert_allclose(layer.weight.detach().numpy(), eager.weight.detach().numpy(),
                               rtol=1e-6)


def test_a_variable_in_a_name_scope_names_its_initialiser_once():
    with fg.Graph().as_default() as g, fg.name_scope("model"):
        w = fg.Variable(0.5, name="w")
    assert w.name == "model/w"
    assert [n.name for n in g.nodes] == ["model/w/initial", "model/w", "model/w/Assign"]
    assert str(g).splitlines()[0] == "model/w/initial = constant() 0.5 : () float32"
