"""Speed tricks, kept in one place so that the core reads as plain math.

Each function here computes what the plain expression in its docstring computes, only
faster, and says by how much (measured with ``python -m benchmarks.run``, 2-core machine,
by removing the trick from a copy of the engine); the tests compare it with the plain
expression. A trick that paid under 5% anywhere was removed.
"""
import ctypes
import ctypes.util
import gc
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
    so nan, inf and −0.0 come through unchanged. Measured: +30-140% per step on T3-T5.
    """
    ints = _SAME_SIZE_INT.get(x.dtype.itemsize)
    if x.dtype != y.dtype or ints is None or x.dtype.kind != "f" or max(x.size, y.size, np.size(cond)) < _SMALL:
        return np.where(cond, x, y)
    xi, yi = x.view(ints), y.view(ints)
    if x.ndim == 0 and not xi:  # where(cond, 0.0, y), as in ReLU and its gradient: y & [not cond]
        return np.bitwise_and(yi, np.subtract(cond, 1, dtype=ints)).view(y.dtype)  # True → 0, False → −1
    mask = np.subtract(0, cond, dtype=ints)  # True → −1, whose bits are all ones; False → 0
    if y.ndim == 0 and not yi:  # where(cond, x, 0.0): x & mask
        return np.bitwise_and(xi, mask).view(x.dtype)
    out = np.bitwise_and(np.bitwise_xor(xi, yi), mask)
    np.bitwise_xor(out, yi, out=out)
    return out.view(x.dtype)


def product_in_layout_of(like, a, b):
    """``a @ b`` (2-D tensors), laid out in memory like ``like``.

    The gradient of ``W`` in ``x @ W.T`` arrives through the transposed view ``W.T``; computed
    plainly it is a transposed (column-major) array, and the optimiser's ``W -= lr * dW`` then
    strides across it, 10x slower at 512x784. Computed as ``(bᵀ aᵀ)ᵀ``, the same numbers come
    out laid out like ``like``. Only for large matrices: below 4096 elements the two extra
    transposes cost more than they save. Measured: +13% per step on T4 (MLP 784-512-512-10).
    """
    if like.data.size >= _SMALL and like.data.flags.f_contiguous and not like.data.flags.c_contiguous:
        return (b.T @ a.T).T
    return a @ b


class collector_paused:
    """``with collector_paused():`` runs the block with Python's cyclic garbage collector paused.

    The backward walk makes no reference cycles, so the collector has nothing to find in
    it; left on, every few hundred new gradients trigger a collection that scans the whole
    live graph. Measured: +32% on a 100,000-op chain (T6).
    """

    def __enter__(self):
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.collecting:
            gc.enable()


def keep_freed_arrays_in_the_heap():
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back.

    With glibc's default (dynamic) thresholds, each step that frees ~1 MiB arrays hands the
    memory back to the kernel and takes it again on the next step: thousands of page faults
    per step. Measured: 2-4x per step on a 256x1024 ELU+Softplus (benchmarks T5). Fixed thresholds keep
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
