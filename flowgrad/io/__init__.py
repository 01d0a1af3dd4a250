"""Leaving flowgrad and coming back: safetensors checkpoints, ONNX export, TensorBoard
summaries. The optional libraries these need are imported through :func:`require`, so a
missing one says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} needs the '{module.split('.')[0]}' package: pip install "
            f"'flowgrad[{extra}]'"
        ) from exc
