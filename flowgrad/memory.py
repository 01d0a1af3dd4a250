"""Memory reuse for large arrays on Linux (glibc).

NumPy allocates each array with ``malloc``; glibc serves large requests (over 128 KiB) with
fresh ``mmap`` pages and unmaps them on free, so every large temporary of a training step pays
page faults and zeroing by the kernel — a third of a small CNN's step here. Raising glibc's
thresholds keeps freed memory in the process for the next array instead, as PyTorch's caching
allocators do. The cost: memory freed by the process is kept for reuse rather than returned to
the system. It is a process-wide setting, so flowgrad never changes it on import: call
:func:`reuse_freed_memory` (``make demo`` and the benchmarks do).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_THRESHOLD: 128 * 1024}


def reuse_freed_memory(enabled: bool = True, limit_bytes: int = 1 << 30) -> bool:
    """Keep freed arrays up to ``limit_bytes`` in the process for reuse (or restore glibc's
    defaults with ``enabled=False``). Returns whether the allocator could be tuned (only with
    glibc, i.e. on most Linux systems)."""
    libc = _glibc()
    if libc is None:
        return False
    for option, default in _GLIBC_DEFAULTS.items():
        if not libc.mallopt(option, limit_bytes if enabled else default):
            return False
    return True


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt  # noqa: B018  (musl and others have no mallopt)
    except (OSError, AttributeError):
        return None
    return libc
