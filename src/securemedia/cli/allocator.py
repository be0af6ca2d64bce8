"""Keep large buffers in the process's heap instead of returning them to the kernel.

Unpack and pack allocate and free a 1-2 MiB buffer per chunk and per zstd frame.
glibc serves blocks that large with a fresh ``mmap`` and unmaps them on free, so
every buffer costs the kernel a page fault and a page of zeros per 4 KiB: on the
380 MB registry that was 0.7-1.0 s of kernel time in a 1.1-1.4 s unpack (``zstd
-d`` spends 0.25 s). Raising glibc's mmap and trim thresholds keeps the freed
buffers for reuse: kernel time 0.22 s, unpack 0.65-0.77 s. Peak memory grows by
a few MiB (the buffers in flight, which were allocated anyway).

Only the CLI does this, at start: a library must not change its host's
allocator. Elsewhere than glibc (musl has no ``mallopt``) nothing happens.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20
"""Blocks below this come from the heap (zstd frames, STREAM chunks, I/O buffers)."""
TRIM_THRESHOLD = 256 << 20
"""Free heap kept before it is given back to the kernel."""


def keep_large_buffers() -> bool:
    """Set glibc's thresholds; True if it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
