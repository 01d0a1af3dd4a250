"""Session.run: fetch structures, feeds and their errors, plans, atomic runs."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import DTypeError, GraphError, ShapeError


@pytest.fixture
def graph():
    with fg.Graph().as_default() as g:
        yield g


def test_fetches_come_back_in_the_same_structure(graph):
    x = fg.placeholder(fg.float32, shape=(2,), name="x")
    double, total = x * 2, x.sum()
    with fg.Session() as sess:
        out = sess.run({"a": [double, (total,)], "b": total}, feed_dict={x: [1.0, 2.0]})
    assert list(out) == ["a", "b"] and isinstance(out["a"], list)
    assert isinstance(out["a"][1], tuple)
    np.testing.assert_array_equal(out["a"][0], [2.0, 4.0])
    assert out["a"][1][0] == 3.0 and out["b"] == 3.0 and out["b"].dtype == np.float32


def test_an_op_fetches_none_and_only_the_needed_subgraph_runs(graph):
    x = fg.placeholder(fg.float32, shape=(), name="x")
    unused = fg.placeholder(fg.float32, shape=(), name="unused")
    v = fg.Variable(1.0, name="v")
    step = fg.group(v.assign_add(x))
    _ = unused * 2
    with fg.Session() as sess:
        sess.run(fg.global_variables_initializer())
        assert sess.run(step, {x: 2.0}) is None  # 'unused' is not needed, so not fed
        assert sess.run(v) == 3.0


def test_missing_feed_names_the_placeholder(graph):
    x = fg.placeholder(fg.float32, shape=(None, 3), name="inputs")
    expected = r"'inputs' \(shape \(\?, 3\).*test_session.py:\d+"
    with fg.Session() as sess, pytest.raises(GraphError, match=expected):
        sess.run(x * 2)


def test_wrong_feed_shape_is_a_value_error_naming_both_shapes(graph):
    x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
    with fg.Session() as sess:
        with pytest.raises(ShapeError, match=r"'x': expected shape \(\?, 3\), got \(2, 4\)"):
            sess.run(x * 2, {x: np.ones((2, 4))})
        with pytest.raises(ValueError, match=r"expected shape \(\?, 3\), got \(3,\)"):
            sess.run(x * 2, {x: np.ones(3)})


def test_feed_dtypes_convert_only_within_their_kind(graph):
    f = fg.placeholder(fg.float32, shape=(2,), name="f")
    i = fg.placeholder(fg.int32, shape=(2,), name="i")
    with fg.Session() as sess:
        out = sess.run(f, {f: np.array([0.1, 0.2])})  # float64 -> float32, as TF-1 does
        assert out.dtype == np.float32 and np.allclose(out, [0.1, 0.2])
        assert sess.run(i, {i: np.array([1, 2], np.int64)}).dtype == np.int32
        with pytest.raises(DTypeError, match=r"'i': cannot convert float64 to .*int32"):
            sess.run(i, {i: np.array([1.5, 2.0])})
        with pytest.raises(DTypeError, match="'f': cannot convert <U1"):
            sess.run(f, {f: np.array(["a", "b"])})


def test_feed_keys_must_be_placeholders(graph):
    x = fg.placeholder(fg.float32, shape=(), name="x")
    y = x + 1
    with fg.Session() as sess, pytest.raises(TypeError, match="placeholders; got add node"):
        sess.run(y, {y: 1.0})


def test_fetching_from_another_graph_is_an_error(graph):
    with fg.Graph().as_default():
        other = fg.placeholder(fg.float32, shape=(), name="other")
    with fg.Session() as sess, pytest.raises(GraphError, match="fetch 'mul' belongs to another"):
        sess.run(other * 2, {})


def test_fetching_an_optimizer_says_to_run_minimize(graph):
    w = fg.Variable(1.0, name="w")
    opt = fg.optim.SGD(lr=0.1)
    opt.minimize(w * w)
    with fg.Session() as sess, pytest.raises(TypeError, match=r"optimizer\.minimize\(loss\)"):
        sess.run(opt)


def test_uninitialised_variables_are_named_and_nothing_runs(graph):
    w = fg.Variable(1.0, name="weights")
    b = fg.Variable(2.0, name="bias")
    with fg.Session() as sess:
        with pytest.raises(GraphError, match=r"uninitialised variable.*bias, weights"):
            sess.run(w + b)
        sess.run(b.initializer)
        with pytest.raises(GraphError, match=r"uninitialised variable.*weights"):
            sess.run([b.assign(5.0), w])
        assert sess.run(b) == 2.0


def test_a_failing_run_changes_no_variable(graph):
    a = fg.placeholder(fg.float32, shape=(None,), name="a")
    b = fg.placeholder(fg.float32, shape=(None,), name="b")
    v = fg.Variable(1.0, name="v")
    with fg.Session() as sess:
        sess.run(fg.global_variables_initializer())
        with pytest.raises(ValueError):  # (2,) + (3,) fails only when the kernel runs
            sess.run([v.assign(7.0), a + b], {a: np.ones(2), b: np.ones(3)})
        assert sess.run(v) == 1.0


def test_fetched_values_do_not_alias_session_state(graph):
    v = fg.Variable(np.zeros(3, np.float32), name="v")
    with fg.Session() as sess:
        sess.run(fg.global_variables_initializer())
        got = sess.run(v)
        got[:] = 9
        np.testing.assert_array_equal(sess.run(v), [0, 0, 0])


def test_eval_uses_the_default_session(graph):
    x = fg.placeholder(fg.float32, shape=(), name="x")
    with pytest.raises(GraphError, match="no session"):
        (x * 3).eval({x: 2.0})
    with fg.Session():
        assert (x * 3).eval({x: 2.0}) == 6.0
    sess = fg.Session()
    with sess.as_default():
        assert (x + 1).eval({x: 2.0}) == 3.0
    assert (x - 1).eval({x: 2.0}, session=sess) == 1.0


def test_closed_session_cannot_run(graph):
    sess = fg.Session()
    sess.close()
    with pytest.raises(GraphError, match="closed"):
        sess.run(fg.constant(1.0))


def test_plans_are_cached_per_fetches_and_feeds(graph):
    x = fg.placeholder(fg.float32, shape=(None,), name="x")
    y = fg.exp(x) * 2
    with fg.Session() as sess:
        plan = sess.plan(y, {x: np.ones(2)})
        assert sess.plan(y, {x: np.ones(5)}) is plan  # a new batch size, the same code
        assert sess.plan([y], {x: np.ones(2)}) is plan
        assert sess.plan(x * 3, {x: np.ones(2)}) is not plan
        assert "exp" in plan.source and "def run(feeds, values):" in plan.source


def test_generated_code_and_interpreter_agree(graph):
    x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
    v = fg.Variable(np.arange(3, dtype=np.float32), name="v")
    out = fg.tanh(x * v).sum(dim=1)
    update = v.assign(v * 2)
    feed = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    with fg.Session() as sess:
        sess.run(fg.global_variables_initializer())
        plan = sess.plan([out, update], {x: feed})
        interpreted = plan.interpret([feed], sess.values)
        np.testing.assert_array_equal(sess.run(v), [0, 2, 4])
        generated = plan([feed], sess.values)
        np.testing.assert_array_equal(sess.run(v), [0, 4, 8])
    expected = np.tanh(feed * np.array([0, 1, 2], np.float32)).sum(axis=1)
    np.testing.assert_allclose(interpreted[0], expected, rtol=1e-6)
    np.testing.assert_allclose(generated[0], np.tanh(feed * [0, 2, 4]).sum(axis=1), rtol=1e-6)


def test_fetching_an_alias_of_a_variable_gives_a_copy(graph):
    from flowgrad.ops.shape import after, expand_to

    v = fg.Variable(np.zeros(3, np.float32), name="v")
    aliases = [after.bind(v, fg.constant(1.0)), expand_to.bind(v, v)]  # both return v's array
    with fg.Session() as sess:
        sess.run(fg.global_variables_initializer())
        for got in sess.run(aliases):
            got[:] = 7
        np.testing.assert_array_equal(sess.run(v), [0, 0, 0])
