"""Fusing elementwise chains: NumPy with in-place ``out=`` buffers (what fg.compile's memory
plan generates) against numexpr and numba, where installed.

Workloads: Adam's update of one 524,288-value parameter (the article CNN's Linear(8192, 64)
weight), and ReLU's backward on 2M values. The NumPy column is the code a compiled plan runs:
each step a ufunc into a preallocated buffer. numba's time excludes its first compilation,
which is printed apart. Run: ``python -m benchmarks.fusion``. Figures are medians.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import median_seconds, print_table

try:
    import numexpr
except ImportError:  # optional: only this comparison uses it
    numexpr = None
try:
    import numba
except ImportError:
    numba = None

B1, B2, LR, EPS = (np.float32(v) for v in (0.9, 0.999, 1e-3, 1e-8))


def adam_arrays(size: int = 8192 * 64):
    rng = np.random.default_rng(0)
    p, g = (rng.standard_normal(size).astype(np.float32) for _ in range(2))
    return p, g, np.zeros(size, np.float32), np.zeros(size, np.float32)


def numpy_adam(p, g, m, v):
    t = np.empty_like(p)

    def step():
        np.subtract(g, m, out=t)
        np.multiply(t, 1 - B1, out=t)
        np.add(m, t, out=m)
        np.multiply(v, B2, out=v)
        np.multiply(g, g, out=t)
        np.multiply(t, 1 - B2, out=t)
        np.add(v, t, out=v)
        np.sqrt(v, out=t)
        np.add(t, EPS, out=t)
        np.divide(m, t, out=t)
        np.multiply(t, -LR, out=t)
        np.add(p, t, out=p)

    return step


def numexpr_adam(p, g, m, v):
    names = {"p": p, "g": g, "m": m, "v": v, "b1": B1, "b2": B2, "lr": LR, "eps": EPS}

    def step():
        numexpr.evaluate("m + (1 - b1) * (g - m)", local_dict=names, out=m)
        numexpr.evaluate("b2 * v + (1 - b2) * g * g", local_dict=names, out=v)
        numexpr.evaluate("p - lr * m / (sqrt(v) + eps)", local_dict=names, out=p)

    return step


def numba_adam(p, g, m, v):
    @numba.njit
    def kernel(p, g, m, v, b1, b2, lr, eps):
        for i in range(p.size):
            m[i] = m[i] + (1 - b1) * (g[i] - m[i])
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            p[i] = p[i] - lr * m[i] / (np.sqrt(v[i]) + eps)

    return lambda: kernel(p, g, m, v, B1, B2, LR, EPS)


def relu_backward_arrays(size: int = 2 * 1024 * 1024):
    rng = np.random.default_rng(1)
    out = np.maximum(rng.standard_normal(size).astype(np.float32), 0)
    return rng.standard_normal(size).astype(np.float32), out


def numexpr_relu_backward(g, out):
    names = {"g": g, "out": out}
    return lambda: numexpr.evaluate("where(out > 0, g, 0)", local_dict=names)


def numba_relu_backward(g, out):
    @numba.njit
    def kernel(g, out):
        result = np.empty_like(g)
        for i in range(g.size):
            result[i] = g[i] if out[i] > 0 else 0
        return result

    return lambda: kernel(g, out)


def timed(make, arrays) -> tuple[str, str]:
    """(median ms, first-call seconds) for the step ``make`` builds."""
    step = make(*arrays)
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    return f"{median_seconds(step, repeats=9, min_time=0.2) * 1e3:.2f}", f"{first:.2f}"


def main() -> None:
    rows = []
    cases = [("Adam update, 524k float32", adam_arrays, numpy_adam,
              numexpr_adam if numexpr else None, numba_adam if numba else None),
             ("ReLU backward, 2M float32", relu_backward_arrays,
              lambda g, out: lambda: np.multiply(g, out > 0),
              numexpr_relu_backward if numexpr else None,
              numba_relu_backward if numba else None)]
    for name, arrays, *makers in cases:
        row = {"workload": name}
        for label, make in zip(("NumPy out=", "numexpr", "numba"), makers, strict=True):
            if make is None:
                row[f"{label} ms"] = "not installed"
                continue
            median, first = timed(make, arrays())
            row[f"{label} ms"] = median
            if label == "numba":
                row["numba first call s"] = first
        rows.append(row)
    print_table("Fusing elementwise chains (medians; NumPy's ufuncs run on one thread, numexpr "
                f"on {numexpr.nthreads if numexpr else '-'})", rows,
                ["workload", "NumPy out= ms", "numexpr ms", "numba ms", "numba first call s"])


if __name__ == "__main__":
    main()
