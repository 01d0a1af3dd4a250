"""Graph-mode speed: the article's linear regression (section 4.1.1), one SGD step at a time.

Workload: 100 points ``y = 2x + 1 + noise`` (float32), model ``W * x + b``, mean squared
error, SGD with learning rate 0.01; 5,000 steps from ``W = b = 0.1`` (the final ``W`` and
``b`` are printed, so every row is seen to compute the same thing), then the median time of
one step. The step is tiny, so what is measured is each framework's per-step overhead:

- flowgrad eager: tensors with ``requires_grad``, ``loss.backward()``, ``fg.optim.SGD``;
- flowgrad Session: the TF-1 program through ``flowgrad.compat.v1``, one
  ``sess.run(train, feed_dict)`` per step;
- the same Session's plan called directly: its generated code, and ``plan.interpret`` (the
  node-by-node interpreter), without ``Session.run``'s checks;
- TensorFlow's ``tf.compat.v1`` Session (in a subprocess, graph mode) and PyTorch eager, where
  installed; and the step written by hand in NumPy, the floor.

Run: ``python -m benchmarks.graph``. Speedups are the other framework's time over the row's
(above 1: the row is faster).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import flowgrad as fg
from benchmarks.common import median_seconds, micros, print_table, ratio

STEPS = 5000
LEARNING_RATE = 0.01


def data() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-1, 1, 100).astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 0.1, 100)
    return x, (2 * x + 1 + noise).astype(np.float32)


# Each maker returns (step, weights): one training step, and the current (W, b) as floats.
Maker = Callable[[], tuple[Callable[[], object], Callable[[], tuple[float, float]]]]


def numpy_step():
    x, y = data()
    params = {"W": np.float32(0.1), "b": np.float32(0.1)}

    def step():
        error = params["W"] * x + params["b"] - y
        grad_pred = error * np.float32(2 / x.size)
        params["W"] -= np.float32(LEARNING_RATE) * (grad_pred * x).sum()
        params["b"] -= np.float32(LEARNING_RATE) * grad_pred.sum()

    return step, lambda: (float(params["W"]), float(params["b"]))


def eager_step(lib):
    """flowgrad or PyTorch eager: the same code, PyTorch's names."""
    x_data, y_data = data()
    x, y = lib.tensor(x_data), lib.tensor(y_data)
    W = lib.tensor(0.1, requires_grad=True)
    b = lib.tensor(0.1, requires_grad=True)
    optimizer = lib.optim.SGD([W, b], lr=LEARNING_RATE)

    def step():
        optimizer.zero_grad()
        loss = ((y - (W * x + b)) ** 2).mean()
        loss.backward()
        optimizer.step()

    return step, lambda: (W.item(), b.item())


def article_program(tf1):
    """The article's TF-1 program, written once against ``tf1``: ``flowgrad.compat.v1`` or
    TensorFlow's own ``tf.compat.v1`` (the port changes nothing else). A session with the
    variables initialised, the train op, the feeds, and a reader of (W, b)."""
    x_data, y_data = data()
    x = tf1.placeholder(tf1.float32, name="x")
    y = tf1.placeholder(tf1.float32, name="y")
    W = tf1.Variable(0.1, name="W")
    b = tf1.Variable(0.1, name="b")
    loss = tf1.reduce_mean(tf1.square(y - (W * x + b)))
    train = tf1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    sess = tf1.Session()
    sess.run(tf1.global_variables_initializer())

    def weights():
        return tuple(float(v) for v in sess.run([W, b]))

    return sess, train, {x: x_data, y: y_data}, weights


def session_parts():
    """The article's program through flowgrad.compat.v1, in a graph of its own."""
    import flowgrad.compat.v1 as tf

    with tf.Graph().as_default():
        return article_program(tf)


def session_step():
    sess, train, feed, weights = session_parts()
    return lambda: sess.run(train, feed), weights


def plan_step(interpret: bool):
    sess, train, feed, weights = session_parts()
    plan = sess.plan(train, feed)
    feeds = [feed[key] for key in feed]
    values = sess.values
    if interpret:
        return lambda: plan.interpret(feeds, values), weights
    return lambda: plan(feeds, values), weights


def tensorflow_step():
    """TF-1 graph mode; run only in the subprocess (``--tensorflow``): eager off for good."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    sess, train, feed, weights = article_program(tf.compat.v1)
    return lambda: sess.run(train, feed), weights


def measure(make: Maker) -> dict:
    """Train 5,000 steps, then time single steps; seconds per step and the final W, b."""
    step, weights = make()
    for _ in range(STEPS):
        step()
    W, b = weights()
    seconds = median_seconds(step, repeats=7, min_time=0.2)
    return {"seconds": seconds, "W": W, "b": b}


def tensorflow_in_subprocess() -> dict | None:
    """TF-1's row, measured in a child process (disabling eager execution is process-wide)."""
    if importlib.util.find_spec("tensorflow") is None:
        return None
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "benchmarks.graph", "--tensorflow"], cwd=root,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"TensorFlow row skipped: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if "--tensorflow" in sys.argv:
        import tensorflow as tf

        print(json.dumps(measure(tensorflow_step) | {"version": tf.__version__}))
        return
    torch = None
    if importlib.util.find_spec("torch") is not None:
        import torch
    results = {
        "NumPy, by hand": measure(numpy_step),
        "flowgrad eager": measure(lambda: eager_step(fg)),
        "flowgrad Session.run (compat.v1)": measure(session_step),
        "flowgrad plan, generated code": measure(lambda: plan_step(interpret=False)),
        "flowgrad plan, interpreter": measure(lambda: plan_step(interpret=True)),
    }
    if torch is not None:
        results["PyTorch eager"] = measure(lambda: eager_step(torch))
    tensorflow = tensorflow_in_subprocess()
    if tensorflow is not None:
        results["TensorFlow tf.compat.v1 Session"] = tensorflow
    tf_seconds = tensorflow["seconds"] if tensorflow is not None else None
    torch_seconds = results["PyTorch eager"]["seconds"] if torch is not None else None
    rows = [{"implementation": name, "us/step": micros(r["seconds"]),
             "speedup vs TF-1": ratio(tf_seconds, r["seconds"]),
             "speedup vs PyTorch": ratio(torch_seconds, r["seconds"]),
             "W": f"{r['W']:.4f}", "b": f"{r['b']:.4f}"} for name, r in results.items()]
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}",
                f"torch {torch.__version__}" if torch is not None else "torch not installed",
                f"tensorflow {tensorflow['version']}" if tensorflow is not None
                else "tensorflow not installed"]
    print_table(
        f"Article linear regression, 100 points, SGD lr {LEARNING_RATE}, {STEPS} steps then "
        f"median step time ({', '.join(versions)})",
        rows, ["implementation", "us/step", "speedup vs TF-1", "speedup vs PyTorch", "W", "b"],
    )


if __name__ == "__main__":
    main()
