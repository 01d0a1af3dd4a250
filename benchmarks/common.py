"""Timing helpers shared by the benchmark scripts: medians of repeated runs, printed tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], *, repeats: int = 15, min_time: float = 0.05) -> float:
    """Median time of one call to ``fn``: each repeat runs enough calls to last ``min_time``."""
    fn()  # warm up caches and lazy imports
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / 10:
            break
        calls *= 2
    calls = max(1, int(calls * (min_time / 10) / max(elapsed, 1e-9)) * 10)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def print_table(title: str, rows: list[dict[str, object]], columns: list[str]) -> None:
    """A plain fixed-width table."""
    print(f"\n{title}")
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(w) for c, w in zip(columns, widths,
                                                                      strict=True)))


def micros(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.2f}"


def ratio(value: float | None, reference: float | None) -> str:
    if value is None or reference is None:
        return "-"
    return f"{value / reference:.2f}x"


def all_cores(torch=None) -> int:
    """Prepare a side-by-side run on every core: freed memory reused (process-wide, so the
    reference benefits as much as flowgrad) and PyTorch, when given, on as many threads as
    the machine has. Returns that thread count."""
    import os

    import flowgrad as fg

    fg.memory.reuse_freed_memory()
    threads = os.cpu_count() or 1
    if torch is not None:
        torch.set_num_threads(threads)
    return threads
