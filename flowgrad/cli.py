"""The ``flowgrad`` command: ``flowgrad demo`` (what ``make demo`` runs) and ``flowgrad info``."""

from __future__ import annotations

import argparse
import platform

import numpy as np


def info() -> None:
    """Print the versions flowgrad runs with."""
    import flowgrad as fg

    print(f"flowgrad {fg.__version__}, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"default dtype {fg.get_default_dtype()}, device {fg.tensor(0.0).device}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="flowgrad", description="flowgrad: eager autograd and dataflow graphs on NumPy."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="train a small CNN on the bundled handwritten digits"
    )
    demo_parser.add_argument("--epochs", type=int, default=12)
    demo_parser.add_argument("--plot", default="digits_training.png",
                             help="where to write the PNG of the curves ('' for none)")
    demo_parser.add_argument("--compile", action="store_true",
                             help="run the training step through fg.compile")
    commands.add_parser("info", help="print versions")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from flowgrad.demo import run

        run(epochs=args.epochs, plot_path=args.plot or None, compiled=args.compile)
    else:
        info()


if __name__ == "__main__":
    main()
