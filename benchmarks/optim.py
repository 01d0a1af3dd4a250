"""Optimizer step time: flowgrad against hand-written NumPy and (when installed) torch.optim.

Workload: the parameters of an MLP for MNIST (784x256, 256x256, 256x10 weights and their
biases, 269,322 float32 values) with fixed gradients; one ``step()`` is timed, state already
created. The NumPy column is the same arithmetic written directly with in-place ufuncs (the
floor for any NumPy-based framework); torch uses its default (single-tensor, CPU) kernels on
one thread, as NumPy's elementwise ufuncs run on one (and shared machines time more stably).

Run: ``python -m benchmarks.optim``. Figures are medians.
"""

from __future__ import annotations

import platform

import numpy as np

import flowgrad as fg
import flowgrad.optim
from benchmarks.common import median_seconds, micros, print_table, ratio

try:
    import torch
except ImportError:  # the reference is optional
    torch = None

SHAPES = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
CASES = {
    "Adam": {"lr": 1e-3},
    "AdamW": {"lr": 1e-3},
    "SGD momentum": {"lr": 1e-2, "momentum": 0.9},
    "RMSprop": {"lr": 1e-2},
    "Adagrad": {"lr": 1e-2},
}


def arrays() -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    return params, grads


def numpy_adam_step(lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                    eps: float = 1e-8):
    """Adam with in-place NumPy ufuncs and one scratch buffer per parameter."""
    params, grads = arrays()
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    count = [0]

    def step():
        count[0] += 1
        t = count[0]
        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        for p, g, m_, v_, s in zip(params, grads, m, v, scratch, strict=True):
            m_ *= beta1
            np.multiply(g, 1 - beta1, out=s)
            m_ += s
            v_ *= beta2
            np.multiply(g, 1 - beta2, out=s)
            s *= g
            v_ += s
            np.sqrt(v_, out=s)
            s /= bias_correction2_sqrt
            s += eps
            np.divide(m_, s, out=s)
            s *= step_size
            p -= s

    return step


def flowgrad_step(name: str, options: dict):
    params, grads = arrays()
    tensors = [fg.tensor(p, requires_grad=True) for p in params]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = fg.tensor(g)
    opt = getattr(flowgrad.optim, name.split()[0])(tensors, **options)
    opt.step()  # create the state
    return opt.step


def torch_step(name: str, options: dict):
    params, grads = arrays()
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g)
    opt = getattr(torch.optim, name.split()[0])(tensors, **options)
    opt.step()
    return opt.step


def main() -> None:
    if torch is not None:
        torch.set_num_threads(1)
    values = sum(int(np.prod(s)) for s in SHAPES)
    threads = f", torch threads: {torch.get_num_threads()}" if torch is not None else ""
    print(f"Optimizer step on an MLP's parameters ({values:,} float32 values in {len(SHAPES)} "
          f"tensors); {platform.processor() or platform.machine()}{threads}")
    rows = []
    for name, options in CASES.items():
        ours = median_seconds(flowgrad_step(name, options))
        theirs = median_seconds(torch_step(name, options)) if torch is not None else None
        numpy = median_seconds(numpy_adam_step(**options)) if name == "Adam" else None
        rows.append({
            "optimizer": name, "flowgrad (us)": micros(ours), "numpy (us)": micros(numpy),
            "torch (us)": micros(theirs), "flowgrad / numpy": ratio(ours, numpy),
            "flowgrad / torch": ratio(ours, theirs),
        })
    print_table("step() time, median", rows, ["optimizer", "flowgrad (us)", "numpy (us)",
                                               "torch (us)", "flowgrad / numpy",
                                               "flowgrad / torch"])


if __name__ == "__main__":
    main()
