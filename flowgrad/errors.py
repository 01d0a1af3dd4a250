"""Error types of flowgrad, and the helper that finds the user's line for messages.

Every error names the operation or layer, what was expected, what was received and the first
stack frame outside flowgrad, so the user sees *their* line, not ours.
"""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class ShapeError(ValueError):
    """Shapes that do not fit the operation (broadcast, matmul, reshape, ...)."""


class DTypeError(TypeError):
    """A dtype the operation cannot take (integer tensors requiring grad, bad casts, ...)."""


class GraphError(RuntimeError):
    """A malformed dataflow graph or a misuse of graph mode."""


class ExportError(GraphError):
    """A graph that cannot leave flowgrad in the requested format (an ONNX export of an
    operation ONNX cannot express, say); raised before any file is written."""


class TracingError(RuntimeError):
    """Python control flow on a symbolic value while tracing."""


class CheckpointError(ValueError):
    """A checkpoint file that is missing, corrupted or not a safetensors file."""


class AnomalyError(RuntimeError):
    """NaN or Inf produced by an operation while anomaly detection is on."""


def user_site() -> str:
    """Return ``"file.py:line"`` of the innermost stack frame outside the flowgrad package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            return f"{_short_path(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _short_path(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def at_user_site(message: str) -> str:
    """Append the user's line to an error message."""
    return f"{message} (at {user_site()})"
