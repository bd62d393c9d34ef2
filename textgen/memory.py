"""Give freed memory back to the operating system.

glibc keeps memory that Python, NumPy and PyTorch free inside its heap, for reuse: a process that
makes many buffers of many sizes (a training run's windows, an evaluation's groups of every width)
holds tens of MB more than it uses, and more the more varied a corpus's lengths are. Its dynamic
mmap threshold makes this worse: once a block of some MB was freed, later blocks up to that size
come from the heap too. `malloc_trim` returns the free pages; a fixed mmap threshold would avoid
the heap growing at all, but makes every large buffer a fresh mapping: evaluation ran 1.7-1.9x
slower that way (`bench/heap.py`, BENCHMARKS.md section 8). Each thread that allocates (PyTorch's
workers) also gets an arena of its own, fragmented on its own: `one_arena` keeps them to one."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


@functools.cache
def _glibc(name: str, argtypes: tuple) -> ctypes._CFuncPtr | None:
    """A glibc malloc function, or None where the C library has none (macOS, musl, Windows)."""
    library = ctypes.util.find_library("c")
    try:
        function = getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None
    if function is not None:
        function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


def one_arena() -> bool:
    """Threads that start allocating from now on share the main heap instead of an arena each: at
    1 GB of text, 30 MB less at the peak and the same step time (BENCHMARKS.md section 8a). For a
    program's start (train.py's main), before PyTorch's workers first allocate; False where not glibc."""
    mallopt = _glibc("mallopt", (ctypes.c_int, ctypes.c_int))
    return bool(mallopt and mallopt(M_ARENA_MAX, 1))


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (a few ms); False where that cannot be done."""
    trim = _glibc("malloc_trim", (ctypes.c_size_t,))
    if trim is None:
        return False
    trim(0)
    return True
