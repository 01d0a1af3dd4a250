"""Other frameworks' names over flowgrad, so existing programs port by changing an import.

- :mod:`flowgrad.compat.v1`: TensorFlow 1 (``import flowgrad.compat.v1 as tf``), over
  flowgrad's graph mode.
"""

from flowgrad.compat import v1

__all__ = ["v1"]
