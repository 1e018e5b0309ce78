"""Composite ops: built from the primitives in ``ops.py``, with no backward rule of their own.

Their gradients come from the chain rule alone: each primitive inside records itself, and
``backward()`` walks through them. This is the lecture's point in code. ReLU, ELU and
Softplus are differentiable because max (here a select), exp and log are:

    relu(x)     = max{0, x}
    elu(x)      = x if x > 0 else α(eˣ − 1)
    softplus(x) = log(1 + eˣ)

Each is written so it is also numerically stable (no overflow, no warning at x = ±1000)
and follows PyTorch's conventions at kinks and ties, and at ±0, ±inf and nan (a nan stays
nan: a diverged network must not report a finite loss). No composite reads ``.data``:
masks such as ``x <= 0`` are comparison ops and constants such as logsumexp's shift are
computed by ops on ``x.detach()``, so every value is in the graph (a picture shows
``z <= 0`` feeding ReLU's ``where``). ``@composite`` only names the call, so that ``draw_graph`` can
show it as one node or open it up into its primitives.
"""
from __future__ import annotations

import numpy as np

from . import convert, tensor
from .modes import composite
from .ops import maximum, where


def _tensor(x, like=None):
    """Tensors pass through; numbers and arrays become constants (of ``like``'s dtype)."""
    if isinstance(x, tensor.Tensor):
        return x
    return convert.lift(x, like) if isinstance(like, tensor.Tensor) else tensor.Tensor(x)


# ---------------------------------------------------------------------------------------
# Arithmetic.
# ---------------------------------------------------------------------------------------
@composite
def neg(x):
    """−x = (−1)·x (an integer −1, so an integer tensor stays integer)"""
    return x * -1


@composite
def sub(x, y):
    """x − y = x + (−1)·y (an integer −1, so integer tensors stay integer)"""
    return x + _tensor(y, x) * -1


@composite
def sqrt(x):
    """√x = x^½"""
    return x ** 0.5


@composite
def abs(x):  # noqa: A001 - the method is called abs
    """|x| = max(x, −x). At 0 the tie splits the gradient: ½·1 + ½·(−1) = 0, so abs'(0) = 0.

    Adding 0.0 changes no number but −0.0, which becomes +0.0: max(0.0, −0.0) may be
    either zero, and |±0| is +0.0 (as in PyTorch).
    """
    return maximum(x, -x) + 0.0


@composite
def minimum(x, y):
    """min(x, y) = −max(−x, −y), so ties split the gradient as in max. Integers and booleans
    (no gradient) are selected instead: −x wraps around for them (−(−128) is −128 in int8)."""
    x, y = convert.promote(x, y)
    if x.dtype.kind != "f":
        return where(y < x, y, x)
    return -maximum(-x, -y)


@composite
def clip(x, lo=None, hi=None):
    """Clamp into [lo, hi]. Where clipping changes nothing the result is x itself (slope 1,
    the boundaries included, as in PyTorch); elsewhere it is a constant (slope 0)."""
    clipped = x.detach()
    if lo is not None:
        clipped = clipped.maximum(lo)
    if hi is not None:
        clipped = clipped.minimum(hi)
    return where(clipped == x, x, clipped)


def exp(x):
    """eˣ, elementwise (numbers and arrays become tensors)."""
    x = x if isinstance(x, tensor.Tensor) else tensor.Tensor.wrap(convert.as_array(x, where="exp()"))
    return x.exp()


def log(x):
    """log x, elementwise (numbers and arrays become tensors)."""
    x = x if isinstance(x, tensor.Tensor) else tensor.Tensor.wrap(convert.as_array(x, where="log()"))
    return x.log()


# ---------------------------------------------------------------------------------------
# Activations.
# ---------------------------------------------------------------------------------------
@composite
def relu(x):
    """ReLU(x) = max{0, x}, written as a select: 0 where x ≤ 0, else x.

    Its slope is 0 where x ≤ 0, the kink x = 0 included (PyTorch's relu'(0) = 0), and 1
    elsewhere. The mask is x ≤ 0 rather than x > 0 because of nan: nan ≤ 0 is false, so
    relu(nan) = nan (with slope 1, as in PyTorch), and a network that diverged reports a
    nan loss instead of a finite one. ``maximum(x, 0)`` would give the same values, but at
    0 its tie rule splits the gradient and would give relu'(0) = ½.
    """
    return where(x <= 0, 0.0, x)


@composite
def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else slope·x (so leaky_relu'(0) = slope)."""
    return where(x > 0, x, x * negative_slope)


@composite
def elu(x, alpha=1.0):
    """ELU(x) = x if x > 0 else α(eˣ − 1).

    eˣ is taken of min(x, 0) only (selected, not ``minimum``, so that elu'(0) = α as in
    PyTorch): for large x the unused branch would overflow otherwise.
    """
    positive = x > 0
    x_neg = where(positive, 0.0, x)
    return where(positive, x, alpha * (x_neg.exp() - 1.0))


SOFTPLUS_LINEAR_ABOVE = 40.0  # e^(−40) < half an ulp of 1: log(1 + eˣ) rounds to x above it


@composite
def softplus(x):
    """Softplus(x) = log(1 + eˣ), and x itself where x > 40.

    Above 40 the two are the same number in float32 and float64 (x + log(1 + e^(−x)), and
    e^(−40) ≈ 4e-18 is below half an ulp), and so are their slopes (σ(x) rounds to 1);
    taking x there means eˣ is never computed for a large x, so nothing overflows:
    softplus(1000) = 1000, softplus(inf) = inf, softplus(−1000) = 0. The exponent is taken
    of x with the large values replaced by 0, not of x itself: otherwise e^inf = inf in the
    branch that is not selected would still turn the gradient into 0·inf = nan. The
    gradient is exactly the derivative of log(1 + eˣ), which is σ(x). So softplus is exp
    and log; the select only keeps them in range.
    """
    linear = x > SOFTPLUS_LINEAR_ABOVE
    x_small = where(linear, 0.0, x)
    return where(linear, x, (x_small.exp() + 1.0).log())


@composite
def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)) = exp(−softplus(−x)): stable for any x."""
    return (-softplus(-x)).exp()


@composite
def tanh(x):
    """tanh(x) = 2σ(2x) − 1"""
    return 2.0 * sigmoid(2.0 * x) - 1.0


# ---------------------------------------------------------------------------------------
# Reductions and softmax.
# ---------------------------------------------------------------------------------------
@composite
def mean(x, axis=None, keepdims=False):
    """mean = sum / n"""
    total = x.sum(axis=axis, keepdims=keepdims)
    n = x.size / total.size if x.size else np.nan  # how many numbers each sum added up
    return total * (1.0 / n)


@composite
def min(x, axis=None, keepdims=False):  # noqa: A001 - the method is called min
    """min(x) = −max(−x); ties share the gradient equally. Other integers and booleans go
    through int64, where −x does not wrap around (in int8 −(−128) is −128, in uint8 −1 is 255)."""
    if x.dtype.kind in "biu" and x.dtype != np.int64:
        return min(x.astype(np.int64), axis, keepdims).astype(x.dtype)
    return -((-x).max(axis=axis, keepdims=keepdims))


@composite
def logsumexp(x, axis=None, keepdims=False):
    """log Σ eˣ = m + log Σ e^(x−m) with m = the largest finite x, so no eˣ overflows.

    m is a detached constant: the result does not depend on it, so neither does the
    gradient, which is softmax(x). m skips ±inf and nan (inf − inf is nan) and is 0 where
    no element is finite, so logsumexp([inf, 1]) = inf with gradient [nan, 0] (PyTorch's).
    """
    axis = convert.axes(axis, x.ndim, "logsumexp")
    x_ = x.detach()
    m = where(x_.abs() < np.inf, x_, -np.inf).max(axis=axis, keepdims=True)
    m = where(m > -np.inf, m, 0.0)
    out = (x - m).exp().sum(axis=axis, keepdims=keepdims).log()
    return out + (m if keepdims else m.reshape(out.shape))


@composite
def log_softmax(x, axis=-1):
    """log softmax(x) = x − logsumexp(x) = (x − m) − log Σ e^(x−m), m = max x (detached).

    Written with the plain max m (not logsumexp's finite one), as PyTorch does: a slice
    holding nan or +inf is nan throughout (x − m is nan there), not partly −inf.
    """
    shifted = x - x.detach().max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


@composite
def softmax(x, axis=-1):
    """softmax(x) = exp(log_softmax(x))"""
    return log_softmax(x, axis=axis).exp()
