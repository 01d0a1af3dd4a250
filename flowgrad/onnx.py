"""``fg.onnx``: export models to ONNX (needs the ``flowgrad[onnx]`` extra).

The graph IR traced from a model is translated operator by operator; see
:func:`flowgrad.io.onnx_export.export`.
"""

from flowgrad.io.onnx_export import export

__all__ = ["export"]
