"""One workload, one framework set, in this process: median seconds per step as JSON lines.

The driver (``python -m benchmarks``) runs this once per workload and framework set, so that
PyTorch's and TensorFlow's thread pools and allocators never share a process. By hand:
``python -m benchmarks.headline --workload W2 --framework flowgrad [--quick]``.

Each step is timed on its own after a warm-up (for ``fg.compile``, the warm-up includes the
first, eager, call and the tracing call); the median is reported. A failure is reported as a
row with an ``error`` and its ``traceback`` instead of a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback

import flowgrad as fg
from benchmarks.workloads import IMPLEMENTATIONS, NUMPY_WORKLOADS, WORKLOADS, Run, make


def threads() -> int:
    return os.cpu_count() or 1


def set_up(framework: str) -> str:
    """Same conditions in every process: threads, malloc tuning. Returns the version."""
    fg.memory.reuse_freed_memory()  # process-wide (glibc), so every framework gets it
    if framework == "torch":
        import torch

        torch.set_num_threads(threads())
        return torch.__version__
    if framework == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads())
        tf.config.threading.set_inter_op_parallelism_threads(threads())
        return tf.__version__
    if framework == "flowgrad":
        return fg.__version__
    import numpy as np

    return np.__version__


def median_step(run: Run, steps: int) -> float:
    """Median seconds of one ``run()`` over ``steps`` timed calls, after a warm-up."""
    for _ in range(max(3, steps // 10)):
        run()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(workload: str, framework: str, quick: bool) -> list[dict]:
    rows = []
    for case in WORKLOADS[workload]:
        steps = case.quick_steps if quick else case.steps
        for implementation in IMPLEMENTATIONS[framework]:
            row = {"case": case.key, "implementation": implementation, "steps": steps}
            try:
                row["seconds"] = median_step(make(implementation, workload, case), steps)
            except Exception as error:
                row["error"] = f"{type(error).__name__}: {error}"
                row["traceback"] = traceback.format_exc()
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--framework", required=True, choices=sorted(IMPLEMENTATIONS))
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    args = parser.parse_args(argv)
    if args.framework == "numpy" and args.workload not in NUMPY_WORKLOADS:
        parser.error(f"no hand-written NumPy reference for {args.workload}")
    version = set_up(args.framework)
    print(json.dumps({"framework": args.framework, "version": version, "threads": threads()}))
    for row in measure(args.workload, args.framework, args.quick):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
