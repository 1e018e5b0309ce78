"""Composite ops: built from the primitives in ``ops.py``, with no backward rule of their own.

Their gradients come from the chain rule alone: each primitive inside records itself, and
``backward()`` walks through them. This is the lecture's point in code. ReLU, ELU and
Softplus are differentiable because max (here a select), exp and log are:

    relu(x)     = max{0, x}
    elu(x)      = x if x > 0 else α(eˣ − 1)
    softplus(x) = log(1 + eˣ)

Each is written so it is also numerically stable (no overflow, no warning at x = ±1000)
and follows PyTorch's conventions at kinks and ties. No composite reads ``.data``: masks
such as ``x > 0`` are comparison ops and constants such as softplus's shift are computed
by ops on ``x.detach()``, so every value is in the graph (a picture shows ``z > 0``
feeding ReLU's ``where``). ``@composite`` only names the call, so that ``draw_graph`` can
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
    """−x = (−1)·x"""
    return x * -1.0


@composite
def sub(x, y):
    """x − y = x + (−1)·y"""
    return x + _tensor(y, x) * -1.0


@composite
def sqrt(x):
    """√x = x^½"""
    return x ** 0.5


@composite
def abs(x):  # noqa: A001 - the method is called abs
    """|x| = max(x, −x). At 0 the tie splits the gradient: ½·1 + ½·(−1) = 0, so abs'(0) = 0."""
    return maximum(x, -x)


@composite
def minimum(x, y):
    """min(x, y) = −max(−x, −y)"""
    x = _tensor(x, y)
    return -maximum(-x, -_tensor(y, x))


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
    return _tensor(x).exp()


def log(x):
    """log x, elementwise (numbers and arrays become tensors)."""
    return _tensor(x).log()


# ---------------------------------------------------------------------------------------
# Activations.
# ---------------------------------------------------------------------------------------
@composite
def relu(x):
    """ReLU(x) = max{0, x}, written as a select: x where x > 0, else 0.

    Its slope is 1 where x > 0 and 0 elsewhere, the kink x = 0 included (PyTorch's
    relu'(0) = 0). ``maximum(x, 0)`` would give the same values, but at 0 its tie rule
    splits the gradient and would give relu'(0) = ½.
    """
    return where(x > 0, x, 0.0)


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


@composite
def softplus(x):
    """Softplus(x) = log(1 + eˣ), computed as m + log(e^(−m) + e^(x−m)) with m = max(x, 0).

    Both forms are equal for any constant m; this m keeps every exponent ≤ 0, so nothing
    overflows: softplus(1000) = 1000 and softplus(−1000) = 0. m is a detached constant
    (computed by ops on ``x.detach()``, so no gradient flows through it): the gradient is
    exactly the derivative of log(1 + eˣ), which is σ(x), with no kink at 0. So softplus is
    exp and log; the max only picks a safe shift.
    """
    m = x.detach().maximum(0.0)
    return ((x - m).exp() + (-m).exp()).log() + m


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
    """min(x) = −max(−x); ties share the gradient equally."""
    return -((-x).max(axis=axis, keepdims=keepdims))


@composite
def logsumexp(x, axis=None, keepdims=False):
    """log Σ eˣ = m + log Σ e^(x−m) with m = max x, so no eˣ overflows.

    m is a detached constant: the result does not depend on it, so neither does the
    gradient, which is softmax(x). Where the max is ±inf or nan, m = 0 (inf − inf is nan).
    """
    axis = convert.axes(axis, x.ndim, "logsumexp")
    m = x.detach().max(axis=axis, keepdims=True)
    m = where(m.abs() < np.inf, m, 0.0)
    out = (x - m).exp().sum(axis=axis, keepdims=keepdims).log()
    return out + (m if keepdims else m.reshape(out.shape))


@composite
def log_softmax(x, axis=-1):
    """log softmax(x) = x − logsumexp(x)"""
    return x - logsumexp(x, axis=axis, keepdims=True)


@composite
def softmax(x, axis=-1):
    """softmax(x) = exp(log_softmax(x))"""
    return log_softmax(x, axis=axis).exp()
