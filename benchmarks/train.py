"""Training-step speed: flowgrad eager against PyTorch eager (when installed), same threads.

Workloads (random data; what is timed is one full step: zero_grad, forward, loss, backward,
optimizer step):

- MLP 784-256-256-10 with ReLU, batch 128, cross-entropy, Adam;
- the article's CNN, corrected: batch 64 of 3x32x32, Conv2d(3, 32, 3, padding=1), ReLU,
  MaxPool2d(2), Linear(32*16*16, 64), ReLU, Linear(64, 10), cross-entropy, Adam.

Run: ``python -m benchmarks.train``. Prints medians (ms per step, steps per second) and the
ratio of speeds (flowgrad / PyTorch; above 1 means flowgrad is faster).
"""

from __future__ import annotations

import platform

import numpy as np

import flowgrad as fg
from benchmarks.common import all_cores, median_seconds, print_table
from benchmarks.workloads import article_cnn, mlp

try:
    import torch
except ImportError:  # the reference is optional
    torch = None


WORKLOADS = {
    "MLP 784-256-256-10, batch 128, Adam": (mlp, (128, 784)),
    "article CNN, batch 64 of 3x32x32, Adam": (article_cnn, (64, 3, 32, 32)),
}


def make_step(lib, build, input_shape):
    """One training step of ``build(lib)`` on fixed random data."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(input_shape).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, input_shape[0]))
    lib.manual_seed(0)
    model = build(lib)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    threads = all_cores(torch)
    rows = []
    for name, (build, shape) in WORKLOADS.items():
        ours = median_seconds(make_step(fg, build, shape), repeats=7, min_time=0.5)
        row = {"workload": name, "flowgrad ms": f"{ours * 1e3:.2f}",
               "flowgrad steps/s": f"{1 / ours:.0f}"}
        if torch is not None:
            theirs = median_seconds(make_step(torch, build, shape), repeats=7, min_time=0.5)
            row |= {"torch ms": f"{theirs * 1e3:.2f}", "torch steps/s": f"{1 / theirs:.0f}",
                    "speed vs torch": f"{theirs / ours:.2f}x"}
        rows.append(row)
    version = f"torch {torch.__version__}" if torch is not None else "torch not installed"
    print_table(
        f"Training step, eager (medians; Python {platform.python_version()}, NumPy "
        f"{np.__version__}, {version}, {threads} threads, freed memory reused)",
        rows,
        ["workload", "flowgrad ms", "torch ms", "flowgrad steps/s", "torch steps/s",
         "speed vs torch"],
    )


if __name__ == "__main__":
    main()
