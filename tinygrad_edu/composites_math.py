"""More composites: elementwise functions and statistics built from existing primitives.

Each is exact (as exact as the primitives it calls, to a rounding or two) and stable, so
its gradient can come from the chain rule alone. Composites read no ``.data``: masks are
comparisons and shift constants are ops on ``x.detach()``, as in ``composites.py``.
"""
from __future__ import annotations

import math

from . import convert, ops_math
from .modes import composite
from .ops import maximum, where


@composite
def square(x):
    """x² = x·x  (∂/∂x = 2x)"""
    return x * x


@composite
def reciprocal(x):
    """1/x  (∂/∂x = −1/x²)"""
    return 1.0 / x


@composite
def exp2(x):
    """2ˣ, a power with a constant base  (∂/∂x = 2ˣ·ln 2)"""
    return 2.0 ** x


@composite
def tan(x):
    """tan x = sin x / cos x, so by the quotient rule tan' = (cos² + sin²)/cos² = 1/cos² x."""
    return ops_math.Sin.apply(x) / ops_math.Cos.apply(x)


@composite
def logaddexp(x, y):
    """log(eˣ + eʸ) = max(x, y) + log1p(e^(−|x − y|)).

    The exponent is ≤ 0, so nothing overflows, and log1p keeps the small correction exact
    (logaddexp(0, −40) = 4.2e−18, where log(1 + e^(−40)) would give 0). The kinks of max
    and |x − y| at x = y cancel: the tie rules give ½ + 0 to each input, which is σ(0),
    the true slope. Where x = y the result is (x + y)/2 + log 2 instead, which is the same
    number and is also right at x = y = ±inf (there x − y is nan; it is replaced by 0 before
    it is used, so no nan reaches the gradient either).
    """
    x, y = convert.promote(x, y)
    tie = x == y
    gap = where(tie, 0.0, x - y).abs()
    general = maximum(x, y) + ops_math.Log1p.apply((-gap).exp())
    return where(tie, (x + y) * 0.5 + math.log(2.0), general)


def remainder(x, y):
    """x mod y, with the sign of y (Python's ``%``); a primitive inside (see ``ops_math``)."""
    return ops_math.Remainder.apply(*convert.promote(x, y))


@composite
def var(x, axis=None, correction=1, keepdims=False):
    """Σ(x − x̄)² / (n − correction) over ``axis``: PyTorch's default correction=1 is the
    unbiased estimate (numpy's ``ddof``; correction=0 is numpy's default, the population
    variance). Two passes (subtract the mean, then square) keep it accurate when the mean
    is large. ∂/∂xᵢ = 2(xᵢ − x̄)/(n − correction). With n ≤ correction it is nan or inf,
    as in PyTorch."""
    axis = convert.axes(axis, x.ndim, "var")
    centred = x - x.mean(axis=axis, keepdims=True)
    total = (centred * centred).sum(axis=axis, keepdims=keepdims)
    n = x.size / total.size if total.size else 0.0  # how many numbers each sum added up
    dof = n - correction
    return total * (1.0 / dof if dof > 0 else math.inf)


@composite
def std(x, axis=None, correction=1, keepdims=False):
    """√var(x); its gradient (xᵢ − x̄)/((n − correction)·std) is infinite where std = 0."""
    return var(x, axis=axis, correction=correction, keepdims=keepdims) ** 0.5
