"""flowgrad.compat.v1: TensorFlow-1 names over graph mode, their numbers, and the errors a
TF-1 program gets for bad input."""

import threading

import numpy as np
import pytest

import flowgrad as fg
import flowgrad.compat.v1 as tf
from flowgrad.errors import DTypeError, GraphError, ShapeError

NAMES = (
    "placeholder Variable constant Session global_variables_initializer reduce_mean "
    "reduce_sum reduce_max square matmul add multiply exp log sigmoid tanh nn.relu nn.softmax "
    "nn.sigmoid nn.softmax_cross_entropy_with_logits "
    "nn.sparse_softmax_cross_entropy_with_logits random_normal zeros ones float32 float64 "
    "int32 int64 train.GradientDescentOptimizer train.MomentumOptimizer train.AdamOptimizer "
    "train.RMSPropOptimizer gradients get_default_graph reset_default_graph"
).split()

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 3)).astype(np.float32)
B = RNG.standard_normal((4, 3)).astype(np.float32)


@pytest.fixture(autouse=True)
def graph():
    with tf.Graph().as_default() as g:
        yield g


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict)


def np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# -- the names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_tf1_name_exists(name):
    value = tf
    for part in name.split("."):
        value = getattr(value, part)
    assert value is not None


def test_dtypes_and_graph_functions_are_flowgrads_own():
    assert (tf.float32, tf.float64, tf.int32, tf.int64) == (
        fg.float32, fg.float64, fg.int32, fg.int64)
    assert tf.gradients is fg.gradients and tf.constant is fg.constant
    assert tf.get_default_graph() is fg.get_default_graph()


def test_reset_default_graph_starts_a_new_global_graph():
    with pytest.raises(GraphError, match=r"not allowed inside a Graph\.as_default"):
        tf.reset_default_graph()
    seen = []

    def outside_any_as_default():  # a fresh thread: its own global default graph
        before = tf.get_default_graph()
        tf.placeholder(tf.float32, name="x")
        tf.reset_default_graph()
        seen.extend([len(before), len(tf.get_default_graph()), before is tf.get_default_graph()])

    thread = threading.Thread(target=outside_any_as_default)
    thread.start()
    thread.join()
    assert seen == [1, 0, False]


# -- ops against NumPy -----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1, [0, 1]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(axis, keepdims):
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    got = run([tf.reduce_mean(x, axis=axis, keepdims=keepdims),
               tf.reduce_sum(x, axis=axis, keepdims=keepdims),
               tf.reduce_max(x, axis=axis, keepdims=keepdims)], {x: A})
    expected = [A.mean(axis=np_axis, keepdims=keepdims), A.sum(axis=np_axis, keepdims=keepdims),
                A.max(axis=np_axis, keepdims=keepdims)]
    for value, reference in zip(got, expected, strict=True):
        assert value.shape == reference.shape and value.dtype == np.float32
        np.testing.assert_allclose(value, reference, rtol=1e-6, atol=1e-6)


def test_elementwise_ops_match_numpy():
    x = tf.placeholder(tf.float32, shape=[4, 3], name="x")
    y = tf.placeholder(tf.float32, shape=[4, 3], name="y")
    positive = np.abs(A) + 0.5
    got = run([tf.square(x), tf.add(x, y), tf.multiply(x, y), tf.exp(x), tf.log(y),
               tf.sigmoid(x), tf.tanh(x), tf.nn.sigmoid(x), tf.nn.relu(x), tf.add(x, 2.0),
               tf.multiply(0.5, x), tf.add(A, y)],
              {x: A, y: positive})
    expected = [A * A, A + positive, A * positive, np.exp(A), np.log(positive),
                1 / (1 + np.exp(-A)), np.tanh(A), 1 / (1 + np.exp(-A)), np.maximum(A, 0),
                A + 2, 0.5 * A, A + positive]
    for value, reference in zip(got, expected, strict=True):
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, reference, rtol=1e-6, atol=1e-6)
    three = run(tf.add(1, 2))  # two numbers: a constant first, so the result is symbolic
    assert three.dtype == np.int64 and three == 3  # TF-1 would give int32


@pytest.mark.parametrize("transpose_a, transpose_b", [(False, True), (True, False)])
def test_matmul_transposes(transpose_a, transpose_b):
    a = tf.constant(A)
    b = tf.constant(B)
    got = run(tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b))
    expected = (A.T if transpose_a else A) @ (B.T if transpose_b else B)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_along_an_axis(axis):
    got = run(tf.nn.softmax(tf.constant(A), axis=axis))
    np.testing.assert_allclose(got, np.exp(np_log_softmax(A, axis)), rtol=1e-6)


def test_softmax_cross_entropy_is_per_example_and_its_gradient_is_softmax_minus_labels():
    labels = np.exp(np_log_softmax(B))  # rows of probabilities
    logits = tf.placeholder(tf.float32, shape=[None, 3], name="logits")
    targets = tf.placeholder(tf.float32, shape=[None, 3], name="labels")
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    d_logits, d_labels = tf.gradients(tf.reduce_sum(loss), [logits, targets])
    value, grad = run([loss, d_logits], {logits: A, targets: labels})
    assert value.shape == (4,)
    np.testing.assert_allclose(value, -(labels * np_log_softmax(A)).sum(-1), rtol=1e-6)
    np.testing.assert_allclose(grad, np.exp(np_log_softmax(A)) - labels, atol=1e-6)
    assert d_labels is None  # TF-1 (not _v2): no gradient into the labels


def test_sparse_softmax_cross_entropy_picks_the_label_and_gives_nan_out_of_range():
    logits = tf.placeholder(tf.float32, shape=[None, 3], name="logits")
    labels = tf.placeholder(tf.int64, shape=[None], name="labels")
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    (d_logits,) = tf.gradients(tf.reduce_sum(loss), [logits])
    classes = np.array([2, 0, 1, 1])
    value, grad = run([loss, d_logits], {logits: A, labels: classes})
    np.testing.assert_allclose(value, -np_log_softmax(A)[np.arange(4), classes], rtol=1e-6)
    np.testing.assert_allclose(grad, np.exp(np_log_softmax(A)) - np.eye(3)[classes], atol=1e-6)
    out_of_range = run(loss, {logits: A, labels: [0, 3, -1, 2]})
    assert np.isnan(out_of_range).tolist() == [False, True, True, False]


def test_sparse_softmax_cross_entropy_takes_any_leading_dims():
    logits = RNG.standard_normal((2, 3, 5)).astype(np.float32)
    classes = RNG.integers(0, 5, (2, 3))
    got = run(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=logits))
    expected = -np.take_along_axis(np_log_softmax(logits), classes[..., None], -1)[..., 0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_creation_ops():
    zeros, ones = run([tf.zeros([2, 3]), tf.ones(2, dtype=tf.int32)])
    assert zeros.dtype == np.float32 and zeros.shape == (2, 3) and not zeros.any()
    assert ones.dtype == np.int32 and ones.tolist() == [1, 1]
    first = run(tf.random_normal([2, 3], mean=1.0, stddev=0.5, seed=7))
    again = run(tf.random_normal([2, 3], mean=1.0, stddev=0.5, seed=7))
    reference = fg.normal(1.0, 0.5, (2, 3), generator=fg.Generator().manual_seed(7))
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, reference.numpy())


def test_variable_takes_tf1s_argument_order():
    step = tf.Variable(0, False, name="global_step")
    w = tf.Variable(tf.random_normal([3], seed=0), name="w")
    assert isinstance(step, fg.Variable) and not step.trainable
    assert fg.trainable_variables() == [w]
    assert tf.Variable(1, dtype=tf.float64).dtype is fg.float64


def test_name_becomes_a_name_scope():
    x = tf.placeholder(tf.float32, shape=[2], name="x")
    loss = tf.reduce_mean(x, name="loss")
    assert loss._data.name.startswith("loss/")


# -- optimizers: TF-1's update rules ---------------------------------------------------------


def train_quadratic(optimizer, steps=3):
    """Minimise sum(target * w**2 / 2) (gradient target * w) from w = [1, -2]; w each step."""
    target = np.array([1.0, 3.0], np.float32)
    w = tf.Variable(np.array([1.0, -2.0], np.float32), name="w")
    train = optimizer.minimize(tf.reduce_sum(target * tf.square(w)) / 2)
    history = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
            history.append(sess.run(w))
    return np.array(history), target


def reference(rule, steps=3):
    """The same problem in float64 NumPy with ``rule(w, grad, state, t)``."""
    target = np.array([1.0, 3.0])
    w, state, history = np.array([1.0, -2.0]), {}, []
    for t in range(1, steps + 1):
        w = rule(w, target * w, state, t)
        history.append(w)
    return np.array(history)


def test_gradient_descent_step():
    got, _ = train_quadratic(tf.train.GradientDescentOptimizer(0.1))
    np.testing.assert_allclose(got, reference(lambda w, g, s, t: w - 0.1 * g), rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_has_no_dampening(nesterov):
    def rule(w, g, s, t):
        s["accum"] = 0.9 * s.get("accum", 0) + g
        return w - 0.1 * (g + 0.9 * s["accum"] if nesterov else s["accum"])

    got, _ = train_quadratic(tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=nesterov))
    np.testing.assert_allclose(got, reference(rule), rtol=1e-6)


def test_adam_adds_epsilon_before_the_bias_correction():
    def rule(w, g, s, t):
        s["m"] = 0.9 * s.get("m", 0) + 0.1 * g
        s["v"] = 0.999 * s.get("v", 0) + 0.001 * g * g
        lr_t = 0.1 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        return w - lr_t * s["m"] / (np.sqrt(s["v"]) + 0.5)

    # A large epsilon makes TF-1's placement visible (PyTorch's rule gives other numbers).
    got, _ = train_quadratic(tf.train.AdamOptimizer(0.1, epsilon=0.5))
    np.testing.assert_allclose(got, reference(rule), rtol=1e-5)


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.5, True)])
def test_rmsprop_starts_the_mean_square_at_one(momentum, centered):
    def rule(w, g, s, t):
        s["ms"] = 0.9 * s.get("ms", 1.0) + 0.1 * g * g
        s["mg"] = 0.9 * s.get("mg", 0.0) + 0.1 * g
        denominator = s["ms"] - (s["mg"] ** 2 if centered else 0) + 1e-10
        s["mom"] = momentum * s.get("mom", 0) + 0.01 * g / np.sqrt(denominator)
        return w - s["mom"]

    optimizer = tf.train.RMSPropOptimizer(0.01, momentum=momentum, centered=centered)
    got, _ = train_quadratic(optimizer)
    np.testing.assert_allclose(got, reference(rule), rtol=1e-6)


def test_minimize_with_global_step_and_var_list():
    w = tf.Variable(1.0, name="w")
    frozen = tf.Variable(1.0, name="frozen")
    step = tf.Variable(0, trainable=False, name="global_step")
    train = tf.train.GradientDescentOptimizer(0.5).minimize(
        tf.square(w * frozen), global_step=step, var_list=[w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        sess.run(train)
        assert sess.run([w, frozen, step]) == [0.0, 1.0, 2]


# -- bad input -------------------------------------------------------------------------------


def test_running_the_optimizer_object_says_to_run_minimize():
    """The article's own mistake: sess.run(optimizer, feed_dict=...)."""
    x = tf.placeholder(tf.float32, name="x")
    w = tf.Variable(0.1)
    loss = tf.reduce_mean(tf.square(x - w))
    optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.01)
    optimizer.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(TypeError) as error:
            sess.run(optimizer, feed_dict={x: [1.0]})
    message = str(error.value)
    assert message.startswith(
        "Session.run: fetched the optimizer object GradientDescentOptimizer; run the train op "
        "instead: train = optimizer.minimize(loss); sess.run(train, ...) (at "
    )
    assert "test_v1.py:" in message


def test_a_missing_feed_names_the_placeholder():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    with pytest.raises(GraphError) as error:
        run(tf.reduce_sum(x))
    assert str(error.value).startswith(
        "Session.run: the fetches need placeholder(s) 'x' (shape (?, 3), float32), which were "
        "not fed; pass them in feed_dict (at tests/compat/test_v1.py:"
    )


@pytest.mark.parametrize("value, got", [(np.ones((2, 4)), "(2, 4)"), (np.ones(3), "(3,)")])
def test_a_feed_of_the_wrong_shape_names_the_placeholder_and_both_shapes(value, got):
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    with pytest.raises(ShapeError) as error:
        run(tf.reduce_sum(x), {x: value})
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith(
        f"feed for placeholder 'x': expected shape (?, 3), got {got} (at ")


@pytest.mark.parametrize("value, given", [([1.5, 2.0], "float64"), (["a", "b"], "<U1")])
def test_an_int32_placeholder_refuses_floats_and_strings(value, given):
    n = tf.placeholder(tf.int32, shape=[2], name="n")
    with pytest.raises(DTypeError) as error:
        run(n * 2, {n: value})
    assert isinstance(error.value, TypeError)
    assert str(error.value).startswith(
        f"feed for placeholder 'n': cannot convert {given} to the placeholder's int32 safely "
        f"(expected int32 or a type of the same kind)")


def test_float64_numpy_fed_to_a_float32_placeholder_just_works():
    x = tf.placeholder(tf.float32, name="x")
    got = run(tf.square(x), {x: np.array([0.5, 3.0])})
    assert got.dtype == np.float32 and got.tolist() == [0.25, 9.0]


def test_an_axis_of_an_input_of_unknown_rank_says_to_give_a_shape():
    u = tf.placeholder(tf.float32, name="u")
    with pytest.raises(ShapeError) as error:
        tf.reduce_max(u, axis=1)
    assert str(error.value).startswith(
        "reduce_max: axis=1 needs the rank of 'u', which is unknown; give the placeholder a "
        "shape, e.g. tf.placeholder(tf.float32, shape=(None, 10)) (at ")


def test_cross_entropy_labels_of_the_wrong_kind_or_shape():
    logits = tf.placeholder(tf.float32, shape=[None, 3], name="logits")
    with pytest.raises(DTypeError, match=r"labels have dtype flowgrad\.int64; expected "
                                         r"probabilities .* use sparse_softmax_cross_entropy"):
        tf.nn.softmax_cross_entropy_with_logits(labels=[[0, 1, 0]], logits=logits)
    with pytest.raises(DTypeError, match=r"labels have dtype flowgrad\.float32; expected "
                                         r"integer class indices"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0.0], logits=logits)
    with pytest.raises(ShapeError, match=r"labels of shape \(2, 4\) and logits of shape "
                                         r"\(\?, 3\); expected the same shape"):
        tf.nn.softmax_cross_entropy_with_logits(labels=tf.zeros([2, 4]), logits=logits)
    with pytest.raises(ShapeError, match=r"labels of shape \(2, 3\) and logits of shape "
                                         r"\(\?, 3\); expected logits of shape labels.shape"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.zeros([2, 3], tf.int64),
                                                        logits=logits)
    with pytest.raises(TypeError):  # named arguments only, as TF-1
        tf.nn.softmax_cross_entropy_with_logits(logits, logits)


def test_bad_optimizer_and_session_arguments():
    with pytest.raises(TypeError, match="learning_rate must be a number, got Tensor"):
        tf.train.GradientDescentOptimizer(tf.constant(0.1))
    with pytest.raises(GraphError, match="target 'grpc://host:2222' is a distributed"):
        tf.Session("grpc://host:2222")
    with pytest.raises(ShapeError, match=r"zeros: shape must be non-negative ints, got "
                                         r"\[2, -1\]"):
        tf.zeros([2, -1])
    with pytest.raises(DTypeError, match="random_normal: dtype must be floating point"):
        tf.random_normal([2], dtype=tf.int32)
