"""Array backends. NumPy on the CPU is the default and, for now, the only one; kernels are
written against the NumPy API so that CuPy (same API, on the GPU) can slot in later."""

import numpy as xp

__all__ = ["xp"]
