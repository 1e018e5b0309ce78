"""More Tensor methods (issue 14, breadth): each is one primitive op or one composite.

``Tensor`` inherits them from ``MoreTensorMethods`` next to ``TensorMethods``. Primitives
live in ``ops_math.py``, ``ops_reduce.py``, ``ops_layout.py`` and ``ops_linalg.py``;
composites in ``composites_math.py``, ``composites_layout.py`` and ``composites_linalg.py``.
Steps (floor, ceil, round, sign) have slope 0 everywhere, their jumps included, and their
output still requires grad, as in PyTorch.
"""
from __future__ import annotations

from . import composites_layout as layout
from . import composites_linalg as linalg
from . import composites_math as cmath
from . import convert, ops_math, ops_reduce


class MoreTensorMethods:
    """Trigonometry, exact logs, steps, more reductions, layout and products (see above)."""

    __slots__ = ()

    # ----- trigonometric and hyperbolic (primitives unless said) ---------------------------
    def sin(self):
        """sin x. ∂/∂x = cos x."""
        return ops_math.Sin.apply(self)

    def cos(self):
        """cos x. ∂/∂x = −sin x."""
        return ops_math.Cos.apply(self)

    def tan(self):
        """tan x = sin x / cos x (a composite). ∂/∂x = 1/cos² x."""
        return cmath.tan(self)

    def arcsin(self):
        """arcsin x on [−1, 1]. ∂/∂x = 1/√(1 − x²), inf at ±1."""
        return ops_math.Arcsin.apply(self)

    def arccos(self):
        """arccos x on [−1, 1]. ∂/∂x = −1/√(1 − x²), −inf at ±1."""
        return ops_math.Arccos.apply(self)

    def arctan(self):
        """arctan x. ∂/∂x = 1/(1 + x²)."""
        return ops_math.Arctan.apply(self)

    def arctan2(self, x):
        """The angle of the point (x, y = self), in (−π, π]. ∂/∂y = x/r², ∂/∂x = −y/r²
        (nan at the origin, where the angle jumps)."""
        return ops_math.Arctan2.apply(*convert.promote(self, x))

    def sinh(self):
        """sinh x. ∂/∂x = cosh x."""
        return ops_math.Sinh.apply(self)

    def cosh(self):
        """cosh x. ∂/∂x = sinh x."""
        return ops_math.Cosh.apply(self)

    def arcsinh(self):
        """arcsinh x. ∂/∂x = 1/√(x² + 1)."""
        return ops_math.Arcsinh.apply(self)

    def arccosh(self):
        """arccosh x for x ≥ 1. ∂/∂x = 1/√(x² − 1), inf at 1."""
        return ops_math.Arccosh.apply(self)

    def arctanh(self):
        """arctanh x on (−1, 1). ∂/∂x = 1/(1 − x²)."""
        return ops_math.Arctanh.apply(self)

    asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2  # PyTorch's names
    asinh, acosh, atanh = arcsinh, arccosh, arctanh

    # ----- exponentials, logarithms, powers ------------------------------------------------
    def log1p(self):
        """log(1 + x), exact for small x. ∂/∂x = 1/(1 + x)."""
        return ops_math.Log1p.apply(self)

    def expm1(self):
        """eˣ − 1, exact for small x. ∂/∂x = eˣ."""
        return ops_math.Expm1.apply(self)

    def log2(self):
        """log₂ x (exact at powers of 2). ∂/∂x = 1/(x ln 2)."""
        return ops_math.Log2.apply(self)

    def log10(self):
        """log₁₀ x (exact at powers of 10). ∂/∂x = 1/(x ln 10)."""
        return ops_math.Log10.apply(self)

    def exp2(self):
        """2ˣ = 2 ** x (a composite). ∂/∂x = 2ˣ ln 2."""
        return cmath.exp2(self)

    def logaddexp(self, other):
        """log(eˣ + eʸ), without overflow (a composite). ∂/∂x = σ(x − y)."""
        return cmath.logaddexp(self, other)

    def square(self):
        """x² = x·x (a composite). ∂/∂x = 2x."""
        return cmath.square(self)

    def reciprocal(self):
        """1/x (a composite). ∂/∂x = −1/x²."""
        return cmath.reciprocal(self)

    def hypot(self, other):
        """√(x² + y²) without overflow. ∂/∂x = x/√(x² + y²) (nan at the origin, as PyTorch)."""
        return ops_math.Hypot.apply(*convert.promote(self, other))

    def remainder(self, other):
        """x mod y with the sign of y (Python's %). ∂/∂x = 1, ∂/∂y = −⌊x/y⌋."""
        return cmath.remainder(self, other)

    def __mod__(self, other):
        return cmath.remainder(self, other)

    def __rmod__(self, other):
        return cmath.remainder(other, self)

    # ----- steps: zero gradient ------------------------------------------------------------
    def floor(self):
        """⌊x⌋. Slope 0 (at the jumps too); the output requires grad, as in PyTorch."""
        return ops_math.Floor.apply(self)

    def ceil(self):
        """⌈x⌉. Slope 0 (at the jumps too)."""
        return ops_math.Ceil.apply(self)

    def round(self):
        """The nearest integer, halves to even (numpy's and PyTorch's). Slope 0."""
        return ops_math.Round.apply(self)

    def sign(self):
        """−1, 0 or 1. Slope 0 (at 0 too, as PyTorch)."""
        return ops_math.Sign.apply(self)

    # ----- reductions ----------------------------------------------------------------------
    def prod(self, axis=None, keepdims=False):
        """Π over ``axis``. ∂/∂xᵢ = the product of the other factors (exact with zeros)."""
        return ops_reduce.Prod.apply(self, axis=convert.axes(axis, self.ndim, "prod"), keepdims=keepdims)

    def cumsum(self, axis=None):
        """Running sum along ``axis`` (without an axis: of the flattened tensor, as numpy).
        ∂L/∂xⱼ = Σᵢ≥ⱼ gᵢ, a cumsum from the other end."""
        if axis is None:
            return ops_reduce.Cumsum.apply(self.reshape(-1), axis=0)
        return ops_reduce.Cumsum.apply(self, axis=convert.axes(axis, max(self.ndim, 1), "cumsum"))

    def var(self, axis=None, correction=1, keepdims=False):
        """Σ(x − x̄)²/(n − correction); PyTorch's default correction=1 (numpy's ddof=0 is
        correction=0). ∂/∂xᵢ = 2(xᵢ − x̄)/(n − correction)."""
        return cmath.var(self, axis, correction, keepdims)

    def std(self, axis=None, correction=1, keepdims=False):
        """√var (same ``correction``). Its gradient is inf where all values are equal."""
        return cmath.std(self, axis, correction, keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the largest element (the first on ties). Integer, not differentiable."""
        return ops_reduce.ArgMax.apply(self, axis=convert.axes(axis, self.ndim, "argmax"), keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        """Index of the smallest element (the first on ties). Integer, not differentiable."""
        return ops_reduce.ArgMin.apply(self, axis=convert.axes(axis, self.ndim, "argmin"), keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        """Is any element non-zero (True)? Boolean, not differentiable."""
        return ops_reduce.Any.apply(self, axis=convert.axes(axis, self.ndim, "any"), keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        """Are all elements non-zero (True)? Boolean, not differentiable."""
        return ops_reduce.All.apply(self, axis=convert.axes(axis, self.ndim, "all"), keepdims=keepdims)

    # ----- layout (one reshape, transpose or slice each; composites where said) -----------
    def squeeze(self, axis=None):
        """Drop axes of size 1 (those in ``axis`` if given; others are left, as PyTorch)."""
        return layout.squeeze(self, axis)

    def unsqueeze(self, axis):
        """Insert an axis of size 1 at ``axis``."""
        return layout.unsqueeze(self, axis)

    expand_dims = unsqueeze  # numpy's name

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge axes start_dim..end_dim into one (all of them by default)."""
        return layout.flatten(self, start_dim, end_dim)

    def permute(self, *axes):
        """Reorder the axes, ``permute(2, 0, 1)``."""
        return layout.permute(self, *axes)

    def swapaxes(self, axis1, axis2):
        """Exchange two axes."""
        return layout.swapaxes(self, axis1, axis2)

    def moveaxis(self, source, destination):
        """Move one axis to ``destination``, the others keeping their order."""
        return layout.moveaxis(self, source, destination)

    def flip(self, axis=None):
        """Reverse along ``axis`` (all axes by default): a slice with step −1."""
        return layout.flip(self, axis)

    def roll(self, shift, axis=None):
        """Cyclic shift along ``axis`` (of the flattened tensor without one); a composite."""
        return layout.roll(self, shift, axis)

    def repeat(self, *sizes):
        """PyTorch's repeat: the whole tensor copied sizes[i] times along axis i (numpy's tile)."""
        return layout.repeat(self, *sizes)

    def tile(self, reps):
        """numpy's tile; the gradient sums the copies. A composite."""
        return layout.tile(self, reps)

    def repeat_interleave(self, repeats, axis=None):
        """Each element copied ``repeats`` times in a row (numpy's repeat). A composite."""
        return layout.repeat_interleave(self, repeats, axis)

    def pad(self, pad_width, value=0.0):
        """A border of ``value`` (pad_width as numpy's pad). A composite."""
        return layout.pad(self, pad_width, value)

    def split(self, split_size_or_sections, axis=0):
        """Pieces along ``axis``: of size n (an int) or of the listed sizes (PyTorch's)."""
        return layout.split(self, split_size_or_sections, axis)

    def chunk(self, chunks, axis=0):
        """``chunks`` pieces of size ⌈n/chunks⌉ along ``axis`` (PyTorch's)."""
        return layout.chunk(self, chunks, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        """The diagonal x[..., i, i + offset] of the plane (axis1, axis2), as the last axis."""
        return layout.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        """The sum of the diagonal. ∂/∂Xᵢⱼ = 1 on the diagonal, 0 off it."""
        return layout.trace(self, offset, axis1, axis2)

    def triu(self, k=0):
        """Upper triangle (diagonal k and above) of the last two axes, zeros below."""
        return layout.triu(self, k)

    def tril(self, k=0):
        """Lower triangle (diagonal k and below) of the last two axes, zeros above."""
        return layout.tril(self, k)

    # ----- products (einsums) --------------------------------------------------------------
    def dot(self, other):
        """numpy's N-d dot (see ``composites_linalg.dot``)."""
        return linalg.dot(self, other)

    def inner(self, other):
        """numpy's inner: the sum over the last axes."""
        return linalg.inner(self, other)

    def outer(self, other):
        """The outer product of the flattened tensors."""
        return linalg.outer(self, other)

    def tensordot(self, other, axes=2):
        """numpy's tensordot."""
        return linalg.tensordot(self, other, axes)
