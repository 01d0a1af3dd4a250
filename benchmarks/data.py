"""DataLoader throughput: batches per second over an in-memory TensorDataset, flowgrad against
PyTorch's ``torch.utils.data``.

Workload: 12,800 samples of 784 float32 features (MNIST-sized) and int64 labels, batches of
128 (100 batches per epoch), one whole epoch timed per call:

- in order and shuffled, in the main process: flowgrad indexes each tensor once per batch
  (its TensorDataset fast path); PyTorch indexes and stacks sample by sample;
- flowgrad collating sample by sample (a ``collate_fn`` that turns the fast path off), to show
  what the fast path is worth;
- shuffled with two persistent worker processes (batches are pickled through pipes, so for an
  in-memory dataset workers cost more than they save; they pay off when samples are expensive
  to load).

Run: ``python -m benchmarks.data``. Figures are medians of whole epochs.
"""

from __future__ import annotations

import platform

import numpy as np

import flowgrad as fg
from benchmarks.common import median_seconds, print_table
from flowgrad.data import DataLoader, TensorDataset, default_collate

try:
    import torch
    import torch.utils.data as torch_data
except ImportError:  # the reference is optional
    torch = None

SAMPLES, FEATURES, BATCH = 12_800, 784, 128


def make_arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SAMPLES, FEATURES), dtype=np.float32)
    y = rng.integers(0, 10, SAMPLES)
    return x, y


def per_sample_collate(samples):
    return default_collate(samples)


def flowgrad_loaders(x: np.ndarray, y: np.ndarray) -> dict:
    data = TensorDataset(fg.from_numpy(x), fg.from_numpy(y))
    return {
        "in order": DataLoader(data, batch_size=BATCH),
        "shuffled": DataLoader(data, batch_size=BATCH, shuffle=True),
        "shuffled, per-sample collate": DataLoader(data, batch_size=BATCH, shuffle=True,
                                                   collate_fn=per_sample_collate),
        "shuffled, 2 workers": DataLoader(data, batch_size=BATCH, shuffle=True, num_workers=2,
                                          persistent_workers=True),
    }


def torch_loaders(x: np.ndarray, y: np.ndarray) -> dict:
    data = torch_data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return {
        "in order": torch_data.DataLoader(data, batch_size=BATCH),
        "shuffled": torch_data.DataLoader(data, batch_size=BATCH, shuffle=True),
        "shuffled, per-sample collate": None,  # this is what torch always does
        "shuffled, 2 workers": torch_data.DataLoader(data, batch_size=BATCH, shuffle=True,
                                                     num_workers=2, persistent_workers=True),
    }


def epoch(loader) -> None:
    for _ in loader:
        pass


def batches_per_second(loader) -> float | None:
    if loader is None:
        return None
    return len(loader) / median_seconds(lambda: epoch(loader), repeats=7)


def main() -> None:
    x, y = make_arrays()
    ours = flowgrad_loaders(x, y)
    theirs = torch_loaders(x, y) if torch is not None else {}
    if torch is not None:
        torch.set_num_threads(1)
    rows = []
    for name, loader in ours.items():
        rate = batches_per_second(loader)
        reference = batches_per_second(theirs.get(name))
        rows.append({
            "workload": name,
            "flowgrad batches/s": f"{rate:,.0f}",
            "torch batches/s": "-" if reference is None else f"{reference:,.0f}",
            "flowgrad / torch speed": "-" if reference is None else f"{rate / reference:.2f}x",
        })
    version = f"torch {torch.__version__}" if torch is not None else "torch not installed"
    print_table(
        f"DataLoader over a TensorDataset, {SAMPLES} x {FEATURES} float32, batch {BATCH} "
        f"(medians of whole epochs; Python {platform.python_version()}, NumPy "
        f"{np.__version__}, {version})",
        rows, ["workload", "flowgrad batches/s", "torch batches/s", "flowgrad / torch speed"],
    )


if __name__ == "__main__":
    main()
