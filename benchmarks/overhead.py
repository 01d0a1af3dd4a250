"""Per-operation cost of eager mode: flowgrad against raw NumPy and (when installed) PyTorch.

Workloads, all on 10-element float32 vectors where the arithmetic is negligible, so what is
measured is the framework's dispatch and autograd bookkeeping:

- ``a * b + c`` without grad recording (2 ops);
- ``a * b + c`` with grad recording (``a``, ``b`` require grad);
- ``backward`` through a chain of 100 such ``x = x * b + c`` steps (200 recorded ops), forward
  and backward timed together, and backward alone;
- one training step of the article's linear regression (``W * x + b``, mean squared error,
  backward, SGD update) on 100 points, written with tensors and autograd only.

Run: ``python -m benchmarks.overhead`` (or ``make bench``). Figures are medians.
"""

from __future__ import annotations

import platform

import numpy as np

import flowgrad as fg
from benchmarks.common import median_seconds, micros, print_table, ratio

try:
    import torch
except ImportError:  # the reference is optional
    torch = None

N = 10
CHAIN = 100


def numpy_cases() -> dict:
    rng = np.random.default_rng(0)
    a, c = (rng.standard_normal(N).astype(np.float32) for _ in range(2))
    b = (rng.random(N) * 0.5).astype(np.float32)
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    y = (2 * x + 1).astype(np.float32)
    params = {"w": np.float32(0.1), "b": np.float32(0.1)}

    def chain():
        h = a
        for _ in range(CHAIN):
            h = h * b + c
        return h.sum()

    def linreg_step():
        # hand-written gradients of mean((w*x + b - y)^2)
        err = params["w"] * x + params["b"] - y
        grad_w = 2 * np.mean(err * x)
        grad_b = 2 * np.mean(err)
        params["w"] -= 0.01 * grad_w
        params["b"] -= 0.01 * grad_b

    return {
        "a * b + c (no grad)": lambda: a * b + c,
        "a * b + c (recording)": None,
        "100-step chain, forward+backward": chain,
        "100-step chain, backward only": None,
        "linear regression train step": linreg_step,
    }


def framework_cases(lib) -> dict:
    """The same workloads for flowgrad or torch (same API)."""
    lib.manual_seed(0)
    a, c = lib.randn(N), lib.randn(N)
    b = lib.rand(N) * 0.5  # |b| < 1 keeps the 100-step chain finite
    ga = a.clone().requires_grad_()
    gb = b.clone().requires_grad_()
    x = lib.linspace(-1, 1, 100)
    y = 2 * x + 1
    w = lib.tensor(0.1, requires_grad=True)
    bias = lib.tensor(0.1, requires_grad=True)

    def no_grad():
        with lib.no_grad():
            return a * b + c

    def chain_forward():
        h = ga
        for _ in range(CHAIN):
            h = h * gb + c
        return h.sum()

    def chain():
        chain_forward().backward()

    def linreg_step():
        loss = ((w * x + bias - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            w.sub_(0.01 * w.grad)
            bias.sub_(0.01 * bias.grad)
        w.grad = None
        bias.grad = None

    return {
        "a * b + c (no grad)": no_grad,
        "a * b + c (recording)": lambda: ga * gb + c,
        "100-step chain, forward+backward": chain,
        "100-step chain, backward only": chain_forward,  # timed specially below
        "linear regression train step": linreg_step,
    }


def backward_only(lib, forward) -> float:
    """Median time of backward alone: build a fresh graph, time only ``.backward()``."""
    import statistics
    import time

    samples = []
    for _ in range(60):
        out = forward()
        start = time.perf_counter()
        out.backward()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[10:])


def main() -> None:
    if torch is not None:
        torch.set_num_threads(1)
    references = {"numpy": numpy_cases(), "flowgrad": framework_cases(fg)}
    if torch is not None:
        references["torch"] = framework_cases(torch)
    rows = []
    for name in references["flowgrad"]:
        row = {"workload": name}
        timings = {}
        for lib, cases in references.items():
            fn = cases.get(name)
            if fn is None:
                timings[lib] = None
            elif name.endswith("backward only"):
                timings[lib] = backward_only(lib, fn)
            else:
                timings[lib] = median_seconds(fn)
            row[f"{lib} µs"] = micros(timings[lib])
        row["flowgrad / numpy"] = ratio(timings["flowgrad"], timings["numpy"])
        row["flowgrad / torch"] = ratio(timings["flowgrad"], timings.get("torch"))
        rows.append(row)
    columns = ["workload", "numpy µs", "flowgrad µs", "torch µs", "flowgrad / numpy",
               "flowgrad / torch"]
    version = f"torch {torch.__version__}" if torch is not None else "torch not installed"
    print_table(
        f"Eager overhead (medians; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{version}, 1 thread)",
        rows, columns,
    )


if __name__ == "__main__":
    main()
