"""More elementwise primitives: trigonometry, hyperbolic functions, exact logarithms, steps.

Each op is a class with ``forward`` (numpy) and ``backward`` (math on Tensors) side by
side, exactly as in ``ops.py``, and the derivative as a one-line comment.

Why these are primitives and not composites of exp and log (``composites_math.py`` holds
the ones that can be): a composite is only worth having if it is *exact and stable*.

* sin, cos, arcsin, arccos, arctan, arctan2: not built from exp and log over the reals.
* sinh, cosh, arcsinh, arccosh, arctanh, log1p, expm1, log2, log10, hypot: each has a
  composite formula, but it loses digits somewhere (``(eˣ − e⁻ˣ)/2`` at small x,
  ``log(1 + x)`` at small x, ``log(x)/log(10)`` gives log10(1000) = 2.9999999999999996,
  ``√(x² + y²)`` overflows at 1e155). numpy's functions are exact to the last bit, so the
  forward is numpy's and only the (simple) derivative is written here.
* floor, ceil, round, sign: steps. Their slope is 0 wherever it exists; like PyTorch their
  output still requires grad (a zero gradient flows back), so ``x.floor()`` inside a model
  does not cut the graph with an error.
* remainder (``%``): ``x − y·floor(x/y)`` computed by numpy's ``mod``, which is exact
  where the composite can round to y itself.
"""
from __future__ import annotations

import numpy as np

from . import tensor
from .ops import Op, called


class Binary(Op):
    """An elementwise op of two broadcastable inputs; its error names the shapes that clash."""

    def explain(self, inputs, err):
        shapes = [t.shape for t in inputs]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return (f"{called(self)}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                    f"together (aligned from the right, each pair of dimensions must be equal or 1)")
        return super().explain(inputs, err)


def zeros_like(g):
    """A constant zero gradient of g's shape and dtype (the slope of a step)."""
    return tensor.Tensor.wrap(np.zeros(g.shape, dtype=g.dtype))


# ---------------------------------------------------------------------------------------
# Trigonometry.
# ---------------------------------------------------------------------------------------
class Sin(Op):
    def forward(self, x):
        return np.sin(x)

    def backward(self, g, z, x):  # ∂/∂x sin x = cos x
        return (g * Cos.apply(x),)


class Cos(Op):
    def forward(self, x):
        return np.cos(x)

    def backward(self, g, z, x):  # ∂/∂x cos x = −sin x
        return (-(g * Sin.apply(x)),)


class Arcsin(Op):
    def forward(self, x):
        return np.arcsin(x)

    def backward(self, g, z, x):  # ∂/∂x arcsin x = 1/√(1 − x²)
        return (g / (1.0 - x * x) ** 0.5,)


class Arccos(Op):
    def forward(self, x):
        return np.arccos(x)

    def backward(self, g, z, x):  # ∂/∂x arccos x = −1/√(1 − x²)
        return (-(g / (1.0 - x * x) ** 0.5),)


class Arctan(Op):
    def forward(self, x):
        return np.arctan(x)

    def backward(self, g, z, x):  # ∂/∂x arctan x = 1/(1 + x²)
        return (g / (1.0 + x * x),)


class Arctan2(Binary):
    """arctan2(y, x): the angle of the point (x, y), in (−π, π]."""

    def forward(self, y, x):
        return np.arctan2(y, x)

    def backward(self, g, z, y, x):  # ∂z/∂y = x/(x² + y²), ∂z/∂x = −y/(x² + y²)
        r2 = x * x + y * y
        return (g * x / r2 if y.requires_grad else None,
                -(g * y) / r2 if x.requires_grad else None)


# ---------------------------------------------------------------------------------------
# Hyperbolic functions and their inverses.
# ---------------------------------------------------------------------------------------
class Sinh(Op):
    def forward(self, x):
        return np.sinh(x)

    def backward(self, g, z, x):  # ∂/∂x sinh x = cosh x
        return (g * Cosh.apply(x),)


class Cosh(Op):
    def forward(self, x):
        return np.cosh(x)

    def backward(self, g, z, x):  # ∂/∂x cosh x = sinh x
        return (g * Sinh.apply(x),)


class Arcsinh(Op):
    def forward(self, x):
        return np.arcsinh(x)

    def backward(self, g, z, x):  # ∂/∂x arcsinh x = 1/√(x² + 1)
        return (g / (x * x + 1.0) ** 0.5,)


class Arccosh(Op):
    def forward(self, x):
        return np.arccosh(x)

    def backward(self, g, z, x):  # ∂/∂x arccosh x = 1/√(x² − 1)
        return (g / (x * x - 1.0) ** 0.5,)


class Arctanh(Op):
    def forward(self, x):
        return np.arctanh(x)

    def backward(self, g, z, x):  # ∂/∂x arctanh x = 1/(1 − x²)
        return (g / (1.0 - x * x),)


# ---------------------------------------------------------------------------------------
# Exact logarithms and exponentials.
# ---------------------------------------------------------------------------------------
class Log1p(Op):
    def forward(self, x):
        return np.log1p(x)

    def backward(self, g, z, x):  # ∂/∂x log(1 + x) = 1/(1 + x)
        return (g / (x + 1.0),)


class Expm1(Op):
    def forward(self, x):
        return np.expm1(x)

    def backward(self, g, z, x):  # ∂/∂x (eˣ − 1) = eˣ = z + 1
        return (g * (z + 1.0),)


class Log2(Op):
    def forward(self, x):
        return np.log2(x)

    def backward(self, g, z, x):  # ∂/∂x log₂ x = 1/(x·ln 2)
        return (g / (x * np.log(2.0)),)


class Log10(Op):
    def forward(self, x):
        return np.log10(x)

    def backward(self, g, z, x):  # ∂/∂x log₁₀ x = 1/(x·ln 10)
        return (g / (x * np.log(10.0)),)


class Hypot(Binary):
    """√(x² + y²) without overflow or underflow in the squares."""

    def forward(self, x, y):
        return np.hypot(x, y)

    def backward(self, g, z, x, y):  # ∂z/∂x = x/z, ∂z/∂y = y/z
        return (g * x / z if x.requires_grad else None,
                g * y / z if y.requires_grad else None)


class Remainder(Binary):
    """x mod y with the sign of y (Python's ``%``, numpy's ``mod``, PyTorch's ``remainder``)."""

    def forward(self, x, y):
        return np.mod(x, y)

    def backward(self, g, z, x, y):  # z = x − y·⌊x/y⌋: ∂z/∂x = 1, ∂z/∂y = −⌊x/y⌋
        return (g if x.requires_grad else None,
                -(g * Floor.apply(x / y)) if y.requires_grad else None)


# ---------------------------------------------------------------------------------------
# Steps: slope 0 wherever it exists; the output still requires grad (as in PyTorch).
# ---------------------------------------------------------------------------------------
class Step(Op):
    """A piecewise-constant function: its backward sends a zero gradient."""

    saves_inputs = False

    def forward(self, x):
        return self.function(x)

    def backward(self, g, z, x):  # ∂z/∂x = 0 (undefined at the jumps; 0 there too, as PyTorch)
        return (zeros_like(g),)


class Floor(Step): function = staticmethod(np.floor)  # noqa: E701
class Ceil(Step): function = staticmethod(np.ceil)  # noqa: E701
class Round(Step): function = staticmethod(np.round)  # noqa: E701  (halves to even, as numpy and PyTorch)
class Sign(Step): function = staticmethod(np.sign)  # noqa: E701  (sign(nan) = nan; PyTorch gives 0)
