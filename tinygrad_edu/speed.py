"""Speed tricks, kept in one place so that ``ops.py`` reads as plain math.

Each function here computes exactly what the plain numpy expression in its docstring
computes, only faster; the tests compare the two.
"""
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
    mask = np.asarray(cond, dtype=ints)
    np.negative(mask, out=mask)  # True → 1 → −1, whose bits are all ones; False stays 0
    xi, yi = x.view(ints), y.view(ints)
    out = np.bitwise_and(np.bitwise_xor(xi, yi), mask)
    np.bitwise_xor(out, yi, out=out)
    return out.view(x.dtype)
