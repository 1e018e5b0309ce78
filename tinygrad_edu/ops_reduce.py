"""More reductions as primitives: prod, cumsum, and the non-differentiable argmax/argmin/any/all.

Same layout as ``ops.py``: ``forward`` (numpy) and ``backward`` (math on Tensors) side by
side, with the derivative as a one-line comment.

* prod is a primitive because its gradient, the product of the *other* factors, is
  z/xᵢ only while no factor is 0; the rule below handles slices with one zero (only that
  factor gets a gradient, the product of the rest) and with several (all get 0), as
  PyTorch does. Every step is an op on Tensors, so the rule differentiates again; the
  second derivative is exact except ∂²z/∂xᵢ∂xₖ for two zero factors xᵢ, xₖ of one slice
  (it is the product of the other factors; this rule gives 0, a step it treats as constant).
* cumsum is a primitive because its composite, a product with a triangular matrix of
  ones, costs n² where numpy's running sum costs n. Its backward is a cumsum run from the
  other end.
* argmax, argmin, any and all return integers or booleans: recorded (a picture shows them)
  but not differentiable, like the comparisons.
"""
from __future__ import annotations

import numpy as np

from .ops import Op, kept_shape, where


class Prod(Op):
    def forward(self, x, axis=None, keepdims=False):
        self.axis = axis
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):  # ∂z/∂xᵢ = Πⱼ≠ᵢ xⱼ  (= z/xᵢ when no factor is 0)
        kept = kept_shape(x.shape, self.axis)
        g, z = g.reshape(kept), z.reshape(kept)
        is_zero = x == 0.0
        zeros = is_zero.astype(x.dtype).sum(axis=self.axis, keepdims=True)  # zeros per slice
        safe_x = where(is_zero, 1.0, x)  # never divide by 0, not even in an unused branch
        rest = Prod.apply(safe_x, axis=self.axis, keepdims=True)  # the product of the non-zeros
        # a non-zero xᵢ: z/xᵢ (which is 0 when another factor is 0); a zero xᵢ: the product
        # of the others, which is `rest` if xᵢ is the only zero and 0 otherwise
        return (g * where(is_zero, where(zeros == 1.0, rest, 0.0), z / safe_x),)


class Cumsum(Op):
    saves_inputs = False

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, g, z, x):  # zᵢ = Σⱼ≤ᵢ xⱼ, so ∂L/∂xⱼ = Σᵢ≥ⱼ gᵢ: a cumsum from the end
        backwards = (slice(None),) * self.axis + (slice(None, None, -1),)
        return (Cumsum.apply(g[backwards], axis=self.axis)[backwards],)


class Selection(Op):
    """argmax, argmin, any, all: integer or boolean results, recorded, not differentiable."""

    differentiable, saves_inputs = False, False

    def forward(self, x, axis=None, keepdims=False):
        return self.function(x, axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):  # a step function of x: no gradient
        return (None,)


class ArgMax(Selection): function = staticmethod(np.argmax)  # noqa: E701  (ties: the first, as PyTorch)
class ArgMin(Selection): function = staticmethod(np.argmin)  # noqa: E701
class Any(Selection): function = staticmethod(np.any)  # noqa: E701
class All(Selection): function = staticmethod(np.all)  # noqa: E701
