"""textgen.memory: giving freed heap memory back, and one arena for every thread (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
import textwrap

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


def count_heaps_after_a_thread_allocates(call_one_arena: bool) -> tuple[int, int]:
    """In a fresh interpreter: glibc's heaps (malloc_info) before and after a new thread mallocs."""
    script = textwrap.dedent(
        f"""
        import ctypes, ctypes.util, os, tempfile, threading
        from textgen.memory import one_arena
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
        def heaps():
            path = tempfile.mktemp()
            handle = libc.fopen(path.encode(), b"w")
            libc.malloc_info(0, handle)
            libc.fclose(handle)
            text = open(path).read()
            os.unlink(path)
            return text.count("<heap nr=")
        if {call_one_arena}:
            assert one_arena()
        before = heaps()
        kept = []
        thread = threading.Thread(target=lambda: kept.append(libc.malloc(1000)))
        thread.start()
        thread.join()
        print(before, heaps())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    return before, after


def test_one_arena_keeps_new_threads_on_the_main_heap():
    before, after = count_heaps_after_a_thread_allocates(call_one_arena=False)
    assert after == before + 1  # glibc's default: a new thread gets an arena of its own
    before, after = count_heaps_after_a_thread_allocates(call_one_arena=True)
    assert after == before
