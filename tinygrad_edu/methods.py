"""The operators and methods of ``Tensor``: each is one primitive op or one composite.

``Tensor`` (in ``tensor.py``) inherits them from ``TensorMethods`` so that ``tensor.py``
holds only the data, the protocols and the graph walk. Nothing here computes anything
itself: ``t.exp()`` is ``ops.Exp.apply(t)``, ``t.relu()`` is ``composites.relu(t)``.
"""
from __future__ import annotations

import operator

from . import composites, convert, ops


class TensorMethods:
    """Operators and methods shared by every Tensor (see the module docstring)."""

    __slots__ = ()

    # ----- arithmetic: a + b, a * b, ... with numbers and arrays on either side ----------
    def __add__(self, other):
        return ops.Add.apply(*convert.promote(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*convert.promote(other, self))

    def __mul__(self, other):
        return ops.Mul.apply(*convert.promote(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*convert.promote(other, self))

    def __truediv__(self, other):
        return ops.Div.apply(*convert.promote(self, other))

    def __rtruediv__(self, other):
        return ops.Div.apply(*convert.promote(other, self))

    def __pow__(self, p):
        return ops.Pow.apply(*convert.promote(self, p))

    def __rpow__(self, base):
        return ops.Pow.apply(*convert.promote(base, self))

    def __matmul__(self, other):
        return ops.MatMul.apply(self, convert.lift(other, self))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(convert.lift(other, self), self)

    def __sub__(self, other):
        return composites.sub(self, other)

    def __rsub__(self, other):
        return composites.sub(*convert.promote(other, self))

    def __neg__(self):
        return composites.neg(self)

    def __abs__(self):
        return composites.abs(self)

    def __getitem__(self, idx):
        return ops.GetItem.apply(self, idx=convert.index(idx))

    # ----- comparisons: recorded ops, not differentiable, giving boolean tensors -----------
    def __lt__(self, other):
        return ops.Less.apply(*convert.promote(self, other))

    def __le__(self, other):
        return ops.LessEqual.apply(*convert.promote(self, other))

    def __gt__(self, other):
        return ops.Greater.apply(*convert.promote(self, other))

    def __ge__(self, other):
        return ops.GreaterEqual.apply(*convert.promote(self, other))

    def __eq__(self, other):
        return ops.Equal.apply(*convert.promote(self, other))

    def __ne__(self, other):
        return ops.NotEqual.apply(*convert.promote(self, other))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``ndarray + tensor`` runs ``tensor.__radd__``; ``np.exp(tensor)`` is refused."""
        apply = _UFUNC_OPERATORS.get(ufunc.__name__)
        if apply is None or method != "__call__" or kwargs:
            name = ufunc.__name__
            hint = f"t.{name}()" if hasattr(type(self), name) else "the Tensor's methods"
            raise TypeError(f"np.{name}() on a Tensor would compute without recording the graph: use "
                            f"{hint} instead, or np.{name}(t.numpy()) for plain numbers")
        return apply(*[convert.lift(x, self) for x in inputs])

    # ----- elementwise -------------------------------------------------------------------
    def exp(self):
        """eˣ, elementwise. Primitive: ∂/∂x eˣ = eˣ."""
        return ops.Exp.apply(self)

    def log(self):
        """The natural logarithm, elementwise. Primitive: ∂/∂x log x = 1/x."""
        return ops.Log.apply(self)

    def sqrt(self):
        """√x = x^½, elementwise. ∂/∂x √x = 1/(2√x), inf at 0."""
        return composites.sqrt(self)

    def abs(self):
        """|x|, elementwise. abs'(0) = 0, as in PyTorch."""
        return composites.abs(self)

    def maximum(self, other):
        """max(x, y), elementwise. Primitive; on a tie each input gets half the gradient."""
        return ops.maximum(self, other)

    def minimum(self, other):
        """min(x, y) = −max(−x, −y), elementwise; on a tie each input gets half the gradient."""
        return composites.minimum(self, other)

    def clip(self, lo=None, hi=None):
        """x clamped into [lo, hi]: slope 1 inside, the boundaries included (PyTorch), 0 outside."""
        return composites.clip(self, lo, hi)

    def astype(self, dtype):
        """The same numbers in another dtype (numpy's name). The gradient is cast back."""
        return ops.Cast.apply(self, dtype=convert.check_dtype(dtype, "astype()"))

    # ----- activations (composites: their gradients come from the chain rule) -------------
    def relu(self):
        """ReLU(x) = max{0, x} = x where x > 0, else 0. relu'(0) = 0."""
        return composites.relu(self)

    def leaky_relu(self, negative_slope=0.01):
        """x where x > 0, else negative_slope·x. leaky_relu'(0) = negative_slope."""
        return composites.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        """ELU(x) = x where x > 0, else α(eˣ − 1). elu'(0) = α, as in PyTorch."""
        return composites.elu(self, alpha)

    def softplus(self):
        """Softplus(x) = log(1 + eˣ), computed stably. Its derivative is σ(x)."""
        return composites.softplus(self)

    def sigmoid(self):
        """σ(x) = 1 / (1 + e^(−x)), computed stably. σ'(x) = σ(x)(1 − σ(x))."""
        return composites.sigmoid(self)

    def tanh(self):
        """tanh(x) = 2σ(2x) − 1. tanh'(x) = 1 − tanh²(x)."""
        return composites.tanh(self)

    # ----- reductions --------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """Σ over ``axis`` (all axes by default). Primitive: ∂/∂xᵢ = 1 for every summed xᵢ."""
        return ops.Sum.apply(self, axis=convert.axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Σ/n over ``axis``. ∂/∂xᵢ = 1/n."""
        return composites.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        """The largest element over ``axis``. Primitive; tied maxima share the gradient equally."""
        return ops.Max.apply(self, axis=convert.axes(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """The smallest element over ``axis`` = −max(−x); tied minima share the gradient equally."""
        return composites.min(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        """log Σ eˣ over ``axis``, computed stably. Its gradient is softmax(x)."""
        return composites.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``axis``."""
        return composites.softmax(self, axis)

    def log_softmax(self, axis=-1):
        """log softmax(x) = x − logsumexp(x) along ``axis``."""
        return composites.log_softmax(self, axis)

    # ----- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same numbers in another shape (``reshape(2, 3)`` or ``reshape((2, 3))``; one −1 allowed)."""
        return ops.Reshape.apply(self, shape=convert.shape_arg(shape, "reshape"))

    def transpose(self, *axes):
        """Permute the axes (numpy's: no axes reverses them). The gradient is permuted back."""
        axes = convert.shape_arg(axes, "transpose") or tuple(range(self.ndim - 1, -1, -1))
        return ops.Transpose.apply(self, axes=axes)

    def expand(self, *shape):
        """Broadcast to ``shape`` (numpy's broadcast_to); the gradient is summed back."""
        return ops.Expand.apply(self, shape=convert.shape_arg(shape, "expand"))


_UFUNC_OPERATORS = {  # the numpy ufuncs behind ``ndarray <op> tensor``
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "true_divide": operator.truediv, "power": operator.pow, "matmul": operator.matmul,
    "less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
    "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne,
}
