"""The primitive ops: the only places where a derivative is written by hand.

Each op is one class with two methods side by side:

* ``forward(self, *arrays, **params)`` computes the result with numpy;
* ``backward(self, g, z, *inputs)`` is the vector-Jacobian product: given ``g = ∂L/∂z``
  (the gradient of the final loss L with respect to this op's output z), it returns
  ``∂L/∂input`` for each input, one entry per input (``None`` for an input that does not
  require grad, such as the data batch of a matmul: no work is spent on it).

The comment next to each backward is the derivative in math. A rule is written once and
runs on two kinds of values (see "Two kinds of values" below): on Tensors when
``backward(create_graph=True)`` records the backward pass, so that it can be differentiated
again, and on plain numpy arrays otherwise, so that a backward pass costs what its numpy
arithmetic costs. Broadcasting is not undone here: if an input was broadcast, the graph walk
(``tensor.unbroadcast``) sums its gradient back to the input's shape, in one place.

Everything else (sub, mean, relu, softplus, softmax, the losses, ...) is a *composite*
in ``composites.py``: a few of these ops, differentiated by the chain rule alone.
"""
from __future__ import annotations

import numpy as np

from .speed import select
from .tensor import Tensor, _check_finite, _lift, _modes, unbroadcast


class _Slotted(type):
    """Gives every op class ``__slots__`` (its own fields, or none): an op then carries no
    ``__dict__``, one object less per recorded node for the garbage collector to scan."""

    def __new__(mcls, name, bases, ns, **kw):
        ns.setdefault("__slots__", ())
        return super().__new__(mcls, name, bases, ns, **kw)


class Op(metaclass=_Slotted):
    """Base class of the primitives. ``Op.apply`` runs forward and records the graph node."""

    __slots__ = ("parents", "scope", "__weakref__")  # inputs, composite/module calls (pictures),
    name = "op"                       # set only when a graph is recorded

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.name = cls.__name__.lower()

    @classmethod
    def apply(cls, *inputs, **params):
        op = cls()
        try:
            if len(inputs) == 1:  # the common arities unpacked by hand: no list to build
                data = op.forward(inputs[0].data, **params)
            elif len(inputs) == 2:
                data = op.forward(inputs[0].data, inputs[1].data, **params)
            else:
                data = op.forward(*[t.data for t in inputs], **params)
        except (ValueError, IndexError) as e:
            raise type(e)(op.explain(inputs, e)) from None
        if type(data) is not np.ndarray:  # numpy returns scalars from 0-d computations
            data = np.asarray(data)
        if _modes.anomaly:
            _check_finite(data, f"the output of op '{cls.name}' (input shapes {[t.shape for t in inputs]})")
        if _modes.grad_enabled:
            for t in inputs:
                if t.requires_grad:  # record the node: it is on a path to something trainable
                    op.parents, op.scope = inputs, _modes.scope
                    return Tensor._make(data, op, True)
        return Tensor._make(data)

    @property
    def needs(self):
        """needs[i]: does input i want a gradient? Rules skip the work for the others."""
        return [p.requires_grad for p in self.parents]

    def explain(self, inputs, err):
        """The error message for bad inputs: the op, the shapes given, what numpy said."""
        shapes = " and ".join(str(t.shape) for t in inputs)
        return f"{self.name}: invalid input shapes {shapes}: {err}"

    def __repr__(self):
        return f"<op {self.name}>"


# ---------------------------------------------------------------------------------------
# Two kinds of values. The operators (+ − * / ** @, .T, .reshape, .transpose, .sum, [idx])
# mean the same on Tensors and on numpy arrays; these few functions fill the gaps, so that
# each rule below has one spelling for both.
# ---------------------------------------------------------------------------------------
def values(x):
    """The numbers, whichever kind x is (for masks, which are constants)."""
    return x.data if isinstance(x, Tensor) else x


def log(x):
    return x.log() if isinstance(x, Tensor) else np.log(x)


def expand(g, shape):
    return g.expand(shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def where(cond, a, b):
    like = b if type(a) is float else a  # one of the two is a value, the other may be 0.0
    if isinstance(like, Tensor):
        return Where.apply(_lift(a, like), _lift(b, like), cond=cond)
    dtype = np.asarray(like).dtype
    return select(cond, np.asarray(a, dtype), np.asarray(b, dtype))


def scatter_add(g, idx, shape):
    if isinstance(g, Tensor):
        return ScatterAdd.apply(g, idx=idx, shape=shape)
    return ScatterAdd.scatter(np.asarray(g), idx, shape)


def cast(g, dtype):
    return Cast.apply(g, dtype=dtype) if isinstance(g, Tensor) else np.asarray(g).astype(dtype)


class _Elementwise(Op):
    def explain(self, inputs, err):
        shapes = " and ".join(str(t.shape) for t in inputs)
        return (
            f"{self.name}: shapes {shapes} cannot be broadcast together "
            f"(numpy broadcasting: aligned from the right, each pair of dimensions must be equal or 1)"
        )


# ---------------------------------------------------------------------------------------
# Elementwise arithmetic.
# ---------------------------------------------------------------------------------------
class Add(_Elementwise):
    def forward(self, x, y):
        return x + y

    def backward(self, g, z, x, y):  # ∂z/∂x = 1, ∂z/∂y = 1
        return g, g


class Mul(_Elementwise):
    def forward(self, x, y):
        return x * y

    def backward(self, g, z, x, y):  # ∂z/∂x = y, ∂z/∂y = x
        need_x, need_y = self.needs
        return (g * y if need_x else None,
                g * x if need_y else None)


class Div(_Elementwise):
    def forward(self, x, y):
        return x / y

    def backward(self, g, z, x, y):  # ∂z/∂x = 1/y, ∂z/∂y = -x/y² = -z/y
        need_x, need_y = self.needs
        return (g / y if need_x else None,
                -(g * z) / y if need_y else None)


class Pow(_Elementwise):
    def forward(self, x, p):
        return x ** p

    def backward(self, g, z, x, p):  # ∂z/∂x = p·x^(p-1), ∂z/∂p = x^p·log x
        need_x, need_p = self.needs
        return (g * p * x ** (p - 1.0) if need_x else None,
                g * z * log(x) if need_p else None)


class Exp(Op):
    def forward(self, x):
        return np.exp(x)

    def backward(self, g, z, x):  # ∂z/∂x = eˣ = z
        return (g * z,)


class Log(Op):
    def forward(self, x):
        return np.log(x)

    def backward(self, g, z, x):  # ∂z/∂x = 1/x
        return (g / x,)


class Maximum(_Elementwise):
    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g, z, x, y):
        # ∂z/∂x = 1 where x > y, 0 where x < y, and ½ on a tie (the gradient is split
        # equally, as in PyTorch and JAX); ∂z/∂y takes the rest.
        x_, y_ = values(x), values(y)
        half = np.array(0.5, dtype=values(g).dtype)
        wx = (x_ > y_) + half * (x_ == y_)
        need_x, need_y = self.needs
        return (g * wx if need_x else None,
                g * (1.0 - wx) if need_y else None)


class Where(_Elementwise):
    __slots__ = ("cond",)

    def forward(self, x, y, cond):
        self.cond = cond
        return select(cond, x, y)  # np.where(cond, x, y), faster (speed.py)

    def backward(self, g, z, x, y):  # ∂z/∂x = [cond], ∂z/∂y = [not cond]
        need_x, need_y = self.needs
        return (where(self.cond, g, 0.0) if need_x else None,
                where(self.cond, 0.0, g) if need_y else None)

    def explain(self, inputs, err):
        shapes = " and ".join(str(t.shape) for t in inputs)
        return f"where: the condition, of shape {np.shape(self.cond)}, and the values, of shapes {shapes}, cannot be broadcast together"


# ---------------------------------------------------------------------------------------
# Reductions.
# ---------------------------------------------------------------------------------------
def _kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Op):
    __slots__ = ("axis",)

    def forward(self, x, axis=None, keepdims=False):
        self.axis = axis
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):  # ∂z/∂xᵢ = 1 for every summed xᵢ: copy g back over the axis
        if g.ndim:  # put the summed axes back, as size 1, so that g broadcasts along them
            g = g.reshape(_kept_shape(x.shape, self.axis))
        return (expand(g, x.shape),)


class Max(Op):
    __slots__ = ("axis",)

    def forward(self, x, axis=None, keepdims=False):
        self.axis = axis
        return x.max(axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):
        # ∂z/∂xᵢ = 1 for the largest xᵢ, 0 for the others; tied maxima share it equally
        kept = _kept_shape(x.shape, self.axis)
        is_max = values(x) == values(z).reshape(kept)
        share = (is_max / is_max.sum(axis=self.axis, keepdims=True)).astype(values(g).dtype)
        return (expand(g.reshape(kept), x.shape) * share,)


# ---------------------------------------------------------------------------------------
# Moving elements around: no arithmetic, so the gradient is moved back the same way.
# ---------------------------------------------------------------------------------------
class Reshape(Op):
    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, g, z, x):  # the same numbers in another shape: reshape back
        return (g.reshape(x.shape),)


class Transpose(Op):
    __slots__ = ("axes",)

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g, z, x):  # permute back with the inverse permutation
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)
        return (g.transpose(inverse),)


class Cast(Op):
    """Change the dtype (used when a float32 input met a float64 partner)."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g, z, x):  # the identity, back in the input's dtype
        return (cast(g, x.dtype),)


class Expand(Op):
    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g, z, x):  # each xᵢ was copied to many places: sum their gradients
        return (unbroadcast(g, x.shape),)


class GetItem(Op):
    __slots__ = ("idx",)

    def forward(self, x, idx):
        self.idx = idx
        return x[idx]

    def backward(self, g, z, x):  # each picked element gets its gradient back; repeats add up
        return (scatter_add(g, self.idx, x.shape),)

    def explain(self, inputs, err):
        return f"indexing: index {self.idx!r} does not fit a tensor of shape {inputs[0].shape}: {err}"


class ScatterAdd(Op):
    """The adjoint of indexing: zeros of ``shape`` with ``g`` added at ``idx``."""

    __slots__ = ("idx",)

    def forward(self, g, idx, shape):
        self.idx = idx
        return ScatterAdd.scatter(g, idx, shape)

    @staticmethod
    def scatter(g, idx, shape):
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic_index(idx):
            out[idx] = g  # a slice picks each element at most once
        else:
            np.add.at(out, idx, g)  # integer arrays may repeat an index: accumulate
        return out

    def backward(self, g, z, x):  # linear, and its adjoint is indexing again
        return (g[self.idx],)


def _is_basic_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice | np.integer) for i in items)


# ---------------------------------------------------------------------------------------
# Matrix product.
# ---------------------------------------------------------------------------------------
def _swap_last(t):
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return t.transpose(tuple(axes))


def _transposed(a):
    """Is ``a`` laid out as a transposed matrix (e.g. ``W.T``)? Its gradient is then computed
    as (…)ᵀ, the same numbers, so that it comes out laid out like ``a``: the gradient of W in
    ``x @ W.T`` is then a plain C-ordered array, and the optimiser's ``W -= lr * dW`` runs
    at memory speed instead of striding across a transposed view (10x slower at 512x784)."""
    return a.flags.f_contiguous and not a.flags.c_contiguous


class MatMul(Op):
    def forward(self, x, y):
        return x @ y

    def backward(self, g, z, x, y):
        need_x, need_y = self.needs
        if x.ndim == 2 and y.ndim == 2:  # Z = XY:  ∂L/∂X = G Yᵀ,  ∂L/∂Y = Xᵀ G
            dx = dy = None
            if need_x:
                dx = (y @ g.T).T if _transposed(values(x)) else g @ y.T
            if need_y:
                dy = (g.T @ x).T if _transposed(values(y)) else x.T @ g
            return dx, dy
        # numpy's rules: a 1-D x is a row (1, k), a 1-D y a column (k, 1), and the extra
        # leading (batch) dimensions broadcast; the walk sums broadcast batches back.
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g2 = g.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        dx = dy = None
        if need_x:
            dx = g2 @ _swap_last(y2)
            if x.ndim == 1:
                dx = dx.reshape(dx.shape[:-2] + dx.shape[-1:])
        if need_y:
            dy = _swap_last(x2) @ g2
            if y.ndim == 1:
                dy = dy.reshape(dy.shape[:-1])
        return dx, dy

    def explain(self, inputs, err):
        a, b = (t.shape for t in inputs)
        if len(a) == 0 or len(b) == 0:
            return f"matmul: {a} @ {b}: both operands need at least one dimension (use * for scalars)"
        k1, k2 = a[-1], (b[0] if len(b) == 1 else b[-2])
        if k1 != k2:
            return (f"matmul: {a} @ {b}: the inner dimensions differ ({k1} != {k2}); "
                    f"the last dimension of the left operand must equal the "
                    f"{'only' if len(b) == 1 else 'second-to-last'} dimension of the right one")
        return f"matmul: {a} @ {b}: the batch dimensions {a[:-2]} and {b[:-2]} cannot be broadcast together"
