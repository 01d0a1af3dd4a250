"""TensorFlow 1's names over flowgrad's graph mode: a TF-1 program ports by changing its
import to ``import flowgrad.compat.v1 as tf``.

Placeholders, variables, sessions, ``tf.gradients`` and ``optimizer.minimize`` are flowgrad's
graph mode itself; the ops take TF-1's arguments (``axis``, ``keepdims``, ``name``) and call
flowgrad's operations, so a program gets flowgrad's shape checks and error messages. The
optimizers in ``tf.train`` compute TF-1's update rules (see :mod:`.train`).

>>> import numpy as np
>>> import flowgrad.compat.v1 as tf
>>> x_data = np.linspace(-1, 1, 100)
>>> y_data = 2 * x_data + 1
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, shape=[None], name="x")
...     y = tf.placeholder(tf.float32, shape=[None], name="y")
...     W = tf.Variable(0.1, name="W")
...     b = tf.Variable(0.1, name="b")
...     loss = tf.reduce_mean(tf.square(y - (W * x + b)))
...     train = tf.train.GradientDescentOptimizer(learning_rate=0.5).minimize(loss)
...     with tf.Session() as sess:
...         _ = sess.run(tf.global_variables_initializer())
...         for _ in range(200):
...             _ = sess.run(train, feed_dict={x: x_data, y: y_data})
...         print(np.round(sess.run([W, b]), 3))
[2. 1.]

Differences: Python ints become int64 constants (TF-1: int32); ``tf.random_normal`` draws
when the graph is built, not at every run (see its docstring). Not here: ``tf.layers`` and
``tf.keras`` (use :mod:`flowgrad.nn`), control flow (``tf.cond``, ``tf.while_loop``), queues
and distributed runtimes.
"""

from flowgrad.compat.v1 import nn, train
from flowgrad.compat.v1.graph import Session, Variable, placeholder
from flowgrad.compat.v1.ops import (
    add,
    exp,
    log,
    matmul,
    multiply,
    ones,
    random_normal,
    reduce_max,
    reduce_mean,
    reduce_sum,
    sigmoid,
    square,
    tanh,
    zeros,
)

# TF-1's tf.bool; it shadows the builtin in this module's namespace only.
from flowgrad.dtypes import bool_ as bool
from flowgrad.dtypes import float16, float32, float64, int32, int64, uint8
from flowgrad.graph import (
    Graph,
    constant,
    get_default_graph,
    global_variables,
    global_variables_initializer,
    gradients,
    group,
    name_scope,
    reset_default_graph,
    trainable_variables,
)

__all__ = [
    "Graph", "Session", "Variable", "add", "bool", "constant", "exp", "float16", "float32",
    "float64", "get_default_graph", "global_variables", "global_variables_initializer",
    "gradients", "group", "int32", "int64", "log", "matmul", "multiply", "name_scope", "nn",
    "ones", "placeholder", "random_normal", "reduce_max", "reduce_mean", "reduce_sum",
    "reset_default_graph", "sigmoid", "square", "tanh", "train", "uint8", "zeros",
]
