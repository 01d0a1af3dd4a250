"""The ``flowgrad`` command: ``flowgrad demo`` (what ``make demo`` runs) and ``flowgrad info``."""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def demo(steps: int = 300) -> None:
    """Fit the article's linear regression (y = 2x + 1 + noise) with tensors and autograd."""
    import flowgrad as fg

    fg.manual_seed(0)
    x = fg.linspace(-1, 1, 100)
    y = 2 * x + 1 + fg.normal(0.0, 0.1, (100,))
    w = fg.tensor(0.1, requires_grad=True)
    b = fg.tensor(0.1, requires_grad=True)
    learning_rate = 0.1
    print("flowgrad demo: fit y = w * x + b to 100 noisy points of y = 2x + 1, by autograd\n")
    start = time.perf_counter()
    for step in range(steps + 1):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        with fg.no_grad():
            w -= learning_rate * w.grad
            b -= learning_rate * b.grad
        w.grad = None
        b.grad = None
        if step % 50 == 0:
            print(f"  step {step:4d}   loss {loss.item():.5f}   w {w.item():.4f}   "
                  f"b {b.item():.4f}")
    elapsed = time.perf_counter() - start
    print(f"\nlearned w = {w.item():.3f}, b = {b.item():.3f} (true: 2, 1) in "
          f"{elapsed * 1e3:.0f} ms ({elapsed / (steps + 1) * 1e6:.0f} µs per training step)")

    # Gradients of gradients: d²/dx² of x³ is 6x.
    t = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (first,) = fg.autograd.grad((t ** 3).sum(), t, create_graph=True)
    (second,) = fg.autograd.grad(first.sum(), t)
    print(f"\nd/dx x³ at {t.tolist()} = {first.tolist()}; d²/dx² = {second.tolist()}")


def info() -> None:
    """Print the versions flowgrad runs with."""
    import flowgrad as fg

    print(f"flowgrad {fg.__version__}, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"default dtype {fg.get_default_dtype()}, device {fg.tensor(0.0).device}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="flowgrad", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="train a small model with autograd")
    demo_parser.add_argument("--steps", type=int, default=300)
    commands.add_parser("info", help="print versions")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.steps)
    else:
        info()


if __name__ == "__main__":
    main()
