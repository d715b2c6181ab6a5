"""Freed numpy memory goes back to the system when the scorecard asks (assets/memory.py)."""

import numpy as np
import pytest

from assets.memory import _malloc_trim, give_back_freed_memory


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(_malloc_trim() is None, reason="the C library has no malloc_trim (not glibc)")
def test_pages_that_numpy_freed_are_given_back():
    """2,000 arrays of 100 KB (below glibc's mmap threshold, so they come from the heap), of which
    every tenth and the last stay: the 180 MB freed lie between arrays still in use, where glibc
    keeps them for the process until they are given back."""
    arrays = [np.ones(12_800) for _ in range(2_000)]  # 100 KB each, every page touched
    staying = arrays[::10] + arrays[-1:]
    held = _resident_mb()
    del arrays
    kept = _resident_mb()
    assert kept > held - 50  # glibc kept the freed pages: without the call, the process holds them
    assert give_back_freed_memory()
    assert _resident_mb() < kept - 120
    del staying
