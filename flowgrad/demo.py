"""``flowgrad demo``: train a small CNN on the handwritten digits bundled with flowgrad.

The whole PyTorch-style loop — ``Dataset``, ``DataLoader``, ``nn.Module``, a loss, ``Adam``,
``backward()``, ``step()`` — on 1,797 real 8x8 images, in well under a minute on a laptop CPU.
"""

from __future__ import annotations

import time
from pathlib import Path

import flowgrad as fg
from flowgrad import nn


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions, a max-pool and two linear layers: about 40k parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(64, 10),
        )

    def forward(self, images: fg.Tensor) -> fg.Tensor:
        return self.classifier(self.features(images))


def evaluate(model: nn.Module, loader) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``, without recording gradients."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with fg.no_grad():
        for images, labels in loader:
            logits = model(images)
            total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
            count += labels.shape[0]
    return total_loss / count, correct / count


def _progress(iterable, description: str, total: int):
    """A tqdm progress bar when tqdm is installed (``pip install flowgrad[progress]``)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    # disable=None: no bar when the output is not a terminal (a log file, CI).
    return tqdm(iterable, desc=description, total=total, leave=False, unit="batch", disable=None)


def run(epochs: int = 12, batch_size: int = 32, seed: int = 0,
        plot_path: str | None = "digits_training.png", compiled: bool = False) -> float:
    """Train, print per-epoch figures, return the final test accuracy. With ``compiled``,
    the training step runs through ``fg.compile`` (the same numbers, as a graph)."""
    fg.memory.reuse_freed_memory()
    fg.manual_seed(seed)
    dataset = fg.data.datasets.load_digits()
    train_set, test_set = fg.data.random_split(dataset, [0.8, 0.2])
    train_loader = fg.data.DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = fg.data.DataLoader(test_set, batch_size=256)
    model = DigitsCNN()
    optimizer = fg.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = fg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"flowgrad demo: a {parameters:,}-parameter CNN on the UCI handwritten digits "
          f"({len(train_set)} training and {len(test_set)} test images of 8x8 pixels)\n")

    def train_step(images: fg.Tensor, labels: fg.Tensor) -> fg.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    step = fg.compile(train_step) if compiled else train_step
    history = {"train loss": [], "train accuracy": [], "test loss": [], "test accuracy": []}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for images, labels in _progress(train_loader, f"epoch {epoch}", len(train_loader)):
            step(images, labels)
        scheduler.step()
        train_loss, train_accuracy = evaluate(model, train_loader)
        test_loss, test_accuracy = evaluate(model, test_loader)
        for key, value in zip(history, (train_loss, train_accuracy, test_loss, test_accuracy),
                              strict=True):
            history[key].append(value)
        print(f"epoch {epoch:2d}   train loss {train_loss:.4f}   train accuracy "
              f"{train_accuracy:6.2%}   test loss {test_loss:.4f}   test accuracy "
              f"{test_accuracy:6.2%}")
    elapsed = time.perf_counter() - start
    print(f"\nfinal test accuracy {history['test accuracy'][-1]:.2%} after {epochs} epochs "
          f"in {elapsed:.1f} s{' (training step compiled)' if compiled else ''}")
    if plot_path:
        _plot(history, Path(plot_path))
    return history["test accuracy"][-1]


def _plot(history: dict[str, list[float]], path: Path) -> None:
    """Write the training curves as a PNG when matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib — pip install flowgrad[plot] — for a PNG of the curves)")
        return
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history["train loss"]) + 1)
    for key, values in history.items():
        axes = loss_axes if "loss" in key else accuracy_axes
        axes.plot(epochs, values, marker="o", label=key)
    for axes, title in ((loss_axes, "cross-entropy loss"), (accuracy_axes, "accuracy")):
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"training curves written to {path}")
