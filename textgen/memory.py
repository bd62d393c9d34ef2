"""Give freed memory back to the operating system.

glibc keeps memory that Python, NumPy and PyTorch free inside its heap, for reuse: a process that
makes many buffers of many sizes (a training run's windows, an evaluation's groups of every width)
holds tens of MB more than it uses, and more the more varied a corpus's lengths are. Its dynamic
mmap threshold makes this worse: once a block of some MB was freed, later blocks up to that size
come from the heap too. `malloc_trim` returns the free pages; a fixed mmap threshold would avoid
the heap growing at all, but makes every large buffer a fresh mapping: evaluation ran 1.7-1.9x
slower that way (`bench/heap.py`, BENCHMARKS.md section 8)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (a few ms); False where that cannot be done."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
