"""The headline workloads of issue 5, written once per framework.

Each maker returns ``run()``: one training step (W1-W3: zero_grad, forward, loss, backward,
optimizer step) or one forward pass (W4), on fixed random data made with NumPy, so every
framework computes the same thing on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.graph import LEARNING_RATE, data, numpy_step


@dataclass(frozen=True)
class Case:
    """One row of the table: what is run, and how many steps are timed."""

    key: str  # the row's name: "W1", "W4 batch 1"
    title: str
    steps: int  # as the issue states (W1-W3), or enough for a steady median (W4)
    quick_steps: int
    batch: int = 0  # W4 only


WORKLOADS: dict[str, list[Case]] = {
    "W1": [Case("W1", "article linear regression, 100 points, full-batch SGD", 5000, 200)],
    "W2": [Case("W2", "MLP 784-256-256-10, batch 128, Adam", 200, 10)],
    "W3": [Case("W3", "article CNN, batch 64 of 3x32x32, Adam", 50, 3)],
    "W4": [Case("W4 batch 1", "MLP 784-256-256-10 inference, batch 1 (latency)", 5000, 200,
                batch=1),
           Case("W4 batch 4096", "MLP 784-256-256-10 inference, batch 4096 (throughput)", 50,
                3, batch=4096)],
}

#: Framework sets, one process each, and the implementations each one times.
IMPLEMENTATIONS: dict[str, list[str]] = {
    "numpy": ["NumPy"],
    "flowgrad": ["flowgrad eager", "flowgrad compiled"],
    "torch": ["torch eager"],
    "tensorflow": ["tf.function"],
}

#: The hand-written NumPy reference exists for these workloads only (as the issue quotes it).
NUMPY_WORKLOADS = ("W1", "W4")

Run = Callable[[], object]


def random_batch(shape: tuple[int, ...], classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal(shape).astype(np.float32),
            rng.integers(0, classes, shape[0]))


def make(implementation: str, workload: str, case: Case) -> Run:
    """``run()`` for one implementation ("NumPy", "flowgrad eager", ...) of ``case``."""
    if implementation == "NumPy":
        return numpy_step()[0] if workload == "W1" else numpy_mlp_inference(case.batch)
    if implementation == "tf.function":
        return tensorflow_run(workload, case)
    if implementation == "torch eager":
        import torch as lib
    else:
        import flowgrad as lib
    compiled = implementation == "flowgrad compiled"
    if workload == "W4":
        return inference(lib, case.batch, compiled)
    lib.manual_seed(0)
    if workload == "W1":
        model = linear_regression(lib)
        optimizer = lib.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        return training(lib, model, lib.nn.MSELoss(), optimizer, data(), compiled)
    model = mlp(lib) if workload == "W2" else article_cnn(lib)
    shape = (128, 784) if workload == "W2" else (64, 3, 32, 32)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    return training(lib, model, lib.nn.CrossEntropyLoss(), optimizer, random_batch(shape),
                    compiled)


# -- flowgrad and PyTorch: the same code, PyTorch's names -------------------------------------

def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def article_cnn(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(32 * 16 * 16, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def linear_regression(lib):
    """The article's model: ``W * x + b`` with scalar parameters starting at 0.1."""

    class LinearRegression(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = lib.nn.Parameter(lib.tensor(0.1, dtype=lib.float32))
            self.b = lib.nn.Parameter(lib.tensor(0.1, dtype=lib.float32))

        def forward(self, x):
            return self.W * x + self.b

    return LinearRegression()


def training(lib, model, loss_fn, optimizer, batch, compiled: bool) -> Run:
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    if compiled:
        step = lib.compile(step)
    x, y = (lib.tensor(array) for array in batch)
    return lambda: step(x, y)


def inference(lib, batch: int, compiled: bool) -> Run:
    lib.manual_seed(0)
    model = mlp(lib)
    model.eval()
    x = lib.tensor(random_batch((batch, 784))[0])
    if compiled:
        forward = lib.compile(model)
        return lambda: forward(x)

    def run():
        with lib.no_grad():
            return model(x)

    return run


# -- NumPy by hand: the floor ------------------------------------------------------------------

def numpy_mlp_inference(batch: int) -> Run:
    rng = np.random.default_rng(0)
    sizes = [(784, 256), (256, 256), (256, 10)]
    (w1, b1), (w2, b2), (w3, b3) = (
        ((rng.standard_normal(size) / np.sqrt(size[0])).astype(np.float32),
         np.zeros(size[1], np.float32)) for size in sizes)
    x = random_batch((batch, 784))[0]

    def run():
        hidden = np.maximum(x @ w1 + b1, 0)
        hidden = np.maximum(hidden @ w2 + b2, 0)
        return hidden @ w3 + b3

    return run


# -- TensorFlow: tf.function over raw ops (W1) or Keras layers (W2-W4) --------------------------

def tensorflow_run(workload: str, case: Case) -> Run:
    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(0)
    if workload == "W1":
        return tensorflow_linear_regression(tf)
    if workload == "W4":
        model = tensorflow_mlp(keras)
        x = tf.constant(random_batch((case.batch, 784))[0])
        forward = tf.function(lambda x: model(x, training=False))
        return lambda: forward(x)
    if workload == "W2":
        model, shape = tensorflow_mlp(keras), (128, 784)
    else:  # TensorFlow's CPU convolutions want channels last: the same work, NHWC
        model, shape = tensorflow_cnn(keras), (64, 32, 32, 3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    x, y = (tf.constant(array) for array in random_batch(shape))
    return lambda: step(x, y)


def tensorflow_linear_regression(tf) -> Run:
    x_data, y_data = data()
    x, y = tf.constant(x_data), tf.constant(y_data)
    W, b = tf.Variable(0.1), tf.Variable(0.1)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - (W * x + b)))
        grad_W, grad_b = tape.gradient(loss, [W, b])
        W.assign_sub(LEARNING_RATE * grad_W)
        b.assign_sub(LEARNING_RATE * grad_b)
        return loss

    return lambda: step(x, y)


def tensorflow_mlp(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                             layers.Dense(256, activation="relu"), layers.Dense(10)])


def tensorflow_cnn(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input((32, 32, 3)), layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ])
