"""textgen.memory: giving freed heap memory back (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import pytest

from textgen.memory import release_free_memory

GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim")
pytestmark = pytest.mark.skipif(not GLIBC, reason="the C library is not glibc: these calls do nothing there")


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_freed_heap_memory_goes_back_to_the_system():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # 1,500 blocks of 100 KB (under the mmap threshold: from the heap), touched, then all freed but
    # the last, which keeps glibc from trimming the top of the heap by itself.
    blocks = [libc.malloc(100 * 1024) for _ in range(1500)]
    for block in blocks:
        ctypes.memset(block, 1, 100 * 1024)
    held = resident_mb()
    for block in blocks[:-1]:
        libc.free(block)
    assert resident_mb() > held - 20  # freed, but still resident
    assert release_free_memory()
    assert resident_mb() < held - 100
    libc.free(blocks[-1])
