"""Speed tricks, kept in one place so that ``ops.py`` reads as plain math.

Each function here computes exactly what the plain numpy expression in its docstring
computes, only faster; the tests compare the two.
"""
import ctypes
import ctypes.util
import os

import numpy as np

_SAME_SIZE_INT = {4: np.int32, 8: np.int64}
_SMALL = 4096  # below this many elements numpy's own call is as fast


def select(cond, x, y):
    """``np.where(cond, x, y)``, bit for bit.

    ``np.where`` branches on every element, and with a random mask the CPU mispredicts
    half the branches: about 1 ms on 256k float32 values. Choosing between the bit
    patterns with a mask instead, ``y ^ ((x ^ y) & mask)`` where mask is all ones where
    ``cond`` holds, has no branch and takes about a tenth of that. It works on the bits,
    so nan, inf and −0.0 come through unchanged.
    """
    ints = _SAME_SIZE_INT.get(x.dtype.itemsize)
    if x.dtype != y.dtype or ints is None or x.dtype.kind != "f" or max(x.size, y.size, np.size(cond)) < _SMALL:
        return np.where(cond, x, y)
    mask = np.subtract(0, cond, dtype=ints)  # True → −1, whose bits are all ones; False → 0
    xi, yi = x.view(ints), y.view(ints)
    if y.ndim == 0 and not yi:  # where(cond, x, 0.0), as in ReLU and its gradient: x & mask
        return np.bitwise_and(xi, mask).view(x.dtype)
    out = np.bitwise_and(np.bitwise_xor(xi, yi), mask)
    np.bitwise_xor(out, yi, out=out)
    return out.view(x.dtype)


def keep_freed_arrays_in_the_heap():
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back.

    With glibc's default (dynamic) thresholds, each step that frees ~1 MiB arrays hands the
    memory back to the kernel and takes it again on the next step: thousands of page faults
    per step, 3-4x slower on a 256x1024 ELU+Softplus (benchmarks T5). Fixed thresholds keep
    such blocks on the heap. Same as setting MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_
    before Python starts. ``import tinygrad_edu`` calls it once; it is skipped if the user
    set those variables, if ``TINYGRAD_EDU_MALLOPT=0``, or off glibc. The price: up to
    128 MiB of freed memory stays with the process instead of going back to the system.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    if os.environ.get("TINYGRAD_EDU_MALLOPT", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) and mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024))
