"""``model.fit`` speed: the W2 MLP and the W3 CNN trained by flowgrad's Keras API and, where
installed, by Keras on TensorFlow -- the same code for both, one process per framework.

Each row is the median time of one training batch inside ``fit`` (timed by a callback from
batch begin to batch end, over the second epoch: the first warms up, tracing included),
with the same threads for both. Run: ``python -m benchmarks.keras_fit [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import print_table
from benchmarks.headline import set_up, threads

WORKLOADS = {
    "W2": ("MLP 784-256-256-10, batch 128, Adam", 128, 200, 10),
    "W3": ("article CNN channels-last 32x32x3, batch 64, Adam", 64, 50, 4),
}
FRAMEWORKS = {"flowgrad": "flowgrad.keras", "tensorflow": "Keras on TensorFlow"}


def build(keras, workload: str):
    layers = keras.layers
    if workload == "W2":
        return keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                                 layers.Dense(256, activation="relu"), layers.Dense(10)])
    return keras.Sequential([
        keras.Input((32, 32, 3)), layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(64, activation="relu"),
        layers.Dense(10)])


def measure(framework: str, workload: str, quick: bool) -> dict:
    if framework == "tensorflow":
        import tensorflow as tf

        keras = tf.keras
    else:
        from flowgrad import keras
    _, batch, steps, quick_steps = WORKLOADS[workload]
    steps = quick_steps if quick else steps
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    shape = (784,) if workload == "W2" else (32, 32, 3)
    x = rng.standard_normal((batch * steps, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch * steps)
    model = build(keras, workload)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, shuffle=False,
              callbacks=[Timer()])
    return {"workload": workload, "framework": framework,
            "seconds": statistics.median(times[steps:])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("WORKLOAD", "FRAMEWORK"),
                        help="measure one pair in this process (the driver's child)")
    args = parser.parse_args(argv)
    if args.one:
        workload, framework = args.one
        set_up(framework)
        print(json.dumps(measure(framework, workload, args.quick)))
        return
    frameworks = [f for f in FRAMEWORKS
                  if f == "flowgrad" or importlib.util.find_spec(f) is not None]
    rows = []
    for workload, (title, *_) in WORKLOADS.items():
        times = {}
        for framework in frameworks:
            command = [sys.executable, "-m", "benchmarks.keras_fit", "--one", workload,
                       framework] + (["--quick"] if args.quick else [])
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                times[framework] = f"failed: {done.stderr.strip().splitlines()[-1][:60]}"
                continue
            times[framework] = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
        row = {"workload": f"{workload} {title}"}
        for framework in frameworks:
            value = times[framework]
            row[FRAMEWORKS[framework]] = (f"{value * 1e3:.2f} ms" if isinstance(value, float)
                                          else value)
        if all(isinstance(times.get(f), float) for f in ("flowgrad", "tensorflow")):
            row["Keras / flowgrad"] = f"{times['tensorflow'] / times['flowgrad']:.2f}x"
        rows.append(row)
    columns = ["workload", *(FRAMEWORKS[f] for f in frameworks)]
    if any("Keras / flowgrad" in r for r in rows):
        columns.append("Keras / flowgrad")
    print_table(f"model.fit, median time per training batch ({threads()} threads; above 1x "
                f"flowgrad is faster)", rows, columns)


if __name__ == "__main__":
    sys.exit(main())
