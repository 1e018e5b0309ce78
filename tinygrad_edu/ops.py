"""The primitive ops: the only places where a derivative is written by hand.

Each op is one class with two methods side by side:

* ``forward(self, *arrays, **params)`` computes the result with numpy;
* ``backward(self, g, z, *inputs)`` is the vector-Jacobian product: given ``g = ∂L/∂z``
  (the gradient of the final loss L with respect to this op's output z), it returns
  ``∂L/∂input`` for each input, one entry per input (``None`` for an input that does not
  require grad, such as the data batch of a matmul: no work is spent on it).

The comment next to each backward is the derivative in math. ``g``, ``z`` and the inputs
are Tensors and the rule is math on Tensors, so the same rule serves a plain backward pass
(run with grad mode off, nothing recorded) and ``backward(create_graph=True)`` (recorded,
so the gradient can be differentiated again). Broadcasting is not undone here: the graph
walk (``tensor.unbroadcast``) sums each gradient back to its input's shape, in one place.

Everything else (sub, mean, relu, softplus, softmax, the losses, ...) is a *composite*
in ``composites.py``: a few of these ops, differentiated by the chain rule alone.
"""
from __future__ import annotations

import numpy as np

from . import convert, speed, tensor
from .modes import check_finite, per_thread


class Op:
    """Base class of the primitives. ``Op.apply`` runs forward and records the graph node."""

    differentiable = True  # False for comparisons: their output never requires grad
    saves_inputs = True  # does backward read the inputs' values? (then in-place changes are caught)
    makes_view = False  # is the output a view of the first input's memory? (then its version is its base's)
    recorded = True  # False for detach: its output starts a graph of its own
    parents = scope = versions = None  # set when the node is recorded

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.name = cls.__name__.lower()

    @classmethod
    def apply(cls, *inputs, **params):
        """Compute ``cls.forward`` on the inputs' arrays; if any input requires grad (and
        grad mode is on), record this op as the node that made the result."""
        op = cls()
        try:
            data = op.forward(*[t.data for t in inputs], **params)
        except (ValueError, IndexError, TypeError) as e:
            raise type(e)(op.explain(inputs, e)) from None
        if type(data) is not np.ndarray:  # numpy returns scalars from 0-d computations
            data = np.asarray(data)
        modes = per_thread.modes  # this thread's grad mode, anomaly mode, scope, tracer
        if modes.anomaly:
            check_finite(data, op, inputs)
        out = tensor.Tensor.wrap(data)
        if modes.grad_enabled and cls.recorded:
            for t in inputs:
                if t.requires_grad:  # the result depends on something trainable: record
                    op.parents, op.scope = inputs, modes.scope
                    if cls.saves_inputs:
                        op.versions = [x.version for x in inputs]
                    out.op, out.requires_grad = op, cls.differentiable
                    if cls.makes_view:  # shares memory with its input: counts the base's changes
                        x = inputs[0]
                        out.changes = x if type(x.changes) is int else x.changes  # the viewed tensor
                    break
        if modes.tracer is not None:  # tg.compile is tracing: it sees every op, constants too
            modes.tracer.record(op, params, inputs, out)
        return out

    def explain(self, inputs, err):
        """The error message for bad inputs: who was called, the shapes given, the cause."""
        shapes = " and ".join(str(t.shape) for t in inputs)
        return f"{called(self)}: invalid inputs of shapes {shapes}: {err}"

    def __repr__(self):
        return f"<op {self.name}>"


def called(op):
    """The name the user called: the composite an op runs inside (``sub``), else the op."""
    name = convert.user_call(None)
    return op.name if name is None else f"{name} ({op.name} inside it)"


class _Elementwise(Op):
    def explain(self, inputs, err):
        shapes = [t.shape for t in inputs]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return (f"{called(self)}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                    f"together (numpy broadcasting: aligned from the right, each pair of dimensions "
                    f"must be equal or 1)")
        return super().explain(inputs, err)


# ---------------------------------------------------------------------------------------
# Elementwise arithmetic.
# ---------------------------------------------------------------------------------------
class Add(_Elementwise):
    saves_inputs = False

    def forward(self, x, y):
        return x + y

    def backward(self, g, z, x, y):  # ∂z/∂x = 1, ∂z/∂y = 1
        return g, g


class Mul(_Elementwise):
    def forward(self, x, y):
        return x * y

    def backward(self, g, z, x, y):  # ∂z/∂x = y, ∂z/∂y = x
        return (g * y if x.requires_grad else None,
                g * x if y.requires_grad else None)


class Div(_Elementwise):
    def forward(self, x, y):
        return x / y

    def backward(self, g, z, x, y):  # ∂z/∂x = 1/y, ∂z/∂y = −x/y² = −z/y
        return (g / y if x.requires_grad else None,
                -(g * z) / y if y.requires_grad else None)


class Pow(_Elementwise):
    def forward(self, x, p):
        return x ** p

    def backward(self, g, z, x, p):  # ∂z/∂x = p·x^(p−1), ∂z/∂p = x^p·log x
        # As PyTorch: x⁰ = 1 is flat, but p·x^(p−1) is 0·0⁻¹ = nan at x = 0 (or nan): there the
        # base is taken as 1 (x·x > 0 is false for 0 and nan), giving 0. And 0ᵖ (p ≥ 0) is 0 or
        # 1 whatever p, so ∂z/∂p = 0 where x = 0 ≤ p, not 0·log 0 = nan.
        base = where(p == 0, where(x * x > 0, x, 1.0), x) if x.requires_grad else x
        dx = g * p * base ** (p - 1.0) if x.requires_grad else None
        dp = g * z * x.log() if p.requires_grad else None
        return dx, (dp if dp is None else where(x == 0, where(p >= 0, 0.0, dp), dp))


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
        # ∂z/∂x = 0 where x < y, ½ on a tie (the gradient is split equally, as in PyTorch
        # and JAX), else 1, so both get g when one is nan (PyTorch's); ∂z/∂y the other way round.
        tie = g * 0.5
        return (where(x < y, 0.0, where(x == y, tie, g)) if x.requires_grad else None,
                where(y < x, 0.0, where(x == y, tie, g)) if y.requires_grad else None)


class Where(_Elementwise):
    def forward(self, cond, x, y):
        return speed.select(cond, x, y)  # np.where(cond, x, y), faster (speed.py)

    def backward(self, g, z, cond, x, y):  # ∂z/∂x = [cond], ∂z/∂y = [not cond]
        return (None,
                where(cond, g, 0.0) if x.requires_grad else None,
                where(cond, 0.0, g) if y.requires_grad else None)


class Comparison(_Elementwise):
    """x < y, x > y, ...: a step, whose slope is 0 (or undefined), so not differentiable.
    Recorded all the same, so that a picture shows the mask ``z > 0`` feeding a ``where``."""

    differentiable, saves_inputs = False, False

    def forward(self, x, y):
        return self.compare(x, y)

    def backward(self, g, z, x, y):
        return None, None


# The six comparisons, as a table: (class, numpy function, symbol drawn in pictures).
class Less(Comparison): compare, symbol = staticmethod(np.less), "<"  # noqa: E701
class LessEqual(Comparison): compare, symbol = staticmethod(np.less_equal), "<="  # noqa: E701
class Greater(Comparison): compare, symbol = staticmethod(np.greater), ">"  # noqa: E701
class GreaterEqual(Comparison): compare, symbol = staticmethod(np.greater_equal), ">="  # noqa: E701
class Equal(Comparison): compare, symbol = staticmethod(np.equal), "=="  # noqa: E701
class NotEqual(Comparison): compare, symbol = staticmethod(np.not_equal), "!="  # noqa: E701


def where(cond, x, y):
    """Elementwise ``x if cond else y``; ``cond`` is a boolean tensor or array (e.g. ``z > 0``).

    A primitive: ∂/∂x = [cond], ∂/∂y = [not cond]. A number takes the other side's dtype.
    """
    if type(cond) is not tensor.Tensor or cond.data.dtype != np.bool_:  # not the usual mask: check
        if not isinstance(cond, tensor.Tensor | np.ndarray | np.bool_) or cond.dtype != np.bool_:
            got = f"dtype {cond.dtype}" if hasattr(cond, "dtype") else type(cond).__name__
            raise TypeError(f"where(cond, x, y): cond must be a boolean tensor or array such as z > 0, "
                            f"got {got}")
        cond = cond if isinstance(cond, tensor.Tensor) else tensor.Tensor.wrap(np.asarray(cond))
    return Where.apply(cond, *convert.promote(x, y))


def maximum(x, y):
    """Elementwise max(x, y) (a primitive); a tie splits the gradient equally."""
    return Maximum.apply(*convert.promote(x, y))


# ---------------------------------------------------------------------------------------
# Reductions.
# ---------------------------------------------------------------------------------------
def kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Op):
    saves_inputs = False

    def forward(self, x, axis=None, keepdims=False):
        self.axis = axis
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):  # ∂z/∂xᵢ = 1 for every summed xᵢ: copy g back over the axis
        if g.ndim:  # put the summed axes back, as size 1, so that g broadcasts along them
            g = g.reshape(kept_shape(x.shape, self.axis))
        return (g.expand(x.shape),)


class Max(Op):
    def forward(self, x, axis=None, keepdims=False):
        self.axis = axis
        return x.max(axis=axis, keepdims=keepdims)

    def backward(self, g, z, x):
        # ∂z/∂xᵢ = 1 for the largest xᵢ, 0 for the others; tied maxima share it equally
        kept = kept_shape(x.shape, self.axis)
        is_max = (x == z.reshape(kept)).astype(g.dtype)
        share = is_max / is_max.sum(axis=self.axis, keepdims=True)
        return (g.reshape(kept) * share,)


# ---------------------------------------------------------------------------------------
# Moving elements around: no arithmetic, so the gradient is moved back the same way.
# ---------------------------------------------------------------------------------------
class Reshape(Op):
    saves_inputs, makes_view = False, True

    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, g, z, x):  # the same numbers in another shape: reshape back
        return (g.reshape(x.shape),)


class Transpose(Op):
    saves_inputs, makes_view = False, True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g, z, x):  # permute back with the inverse permutation
        return (g.transpose(tuple(np.argsort(self.axes))),)


class Detach(Op):
    """The same numbers, cut off from the graph: no gradient flows back (``t.detach()``).
    Not recorded in the graph; ``tg.compile`` still sees it, to recompute the value."""

    differentiable, saves_inputs, recorded = False, False, False

    def forward(self, x):
        return x

    def backward(self, g, z, x):
        return (None,)


class Cast(Op):
    """Change the dtype (``astype``)."""

    saves_inputs = False

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g, z, x):  # the identity, back in the input's dtype
        return (g.astype(x.dtype),)


class Expand(Op):
    saves_inputs, makes_view = False, True

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g, z, x):  # each xᵢ was copied to many places: sum their gradients
        return (tensor.unbroadcast(g, x),)


class GetItem(Op):
    saves_inputs, makes_view = False, True

    def forward(self, x, idx):
        self.idx = idx
        return x[idx]

    def backward(self, g, z, x):  # each picked element gets its gradient back; repeats add up
        return (ScatterAdd.apply(g, idx=self.idx, shape=x.shape),)

    def explain(self, inputs, err):
        return f"indexing: index {convert.short(self.idx)} does not fit a tensor of shape {inputs[0].shape}: {err}"


class ScatterAdd(Op):
    """The adjoint of indexing: zeros of ``shape`` with ``g`` added at ``idx``."""

    saves_inputs = False

    def forward(self, g, idx, shape):
        self.idx = idx
        out = np.zeros(shape, dtype=g.dtype)
        if convert.is_basic_index(idx):
            out[idx] = g  # slices and single integers pick each element at most once
        else:
            np.add.at(out, idx, g)  # an integer array may pick an element twice: accumulate
        return out

    def backward(self, g, z, x):  # linear, and its adjoint is indexing again
        return (g[self.idx],)


# ---------------------------------------------------------------------------------------
# Matrix product.
# ---------------------------------------------------------------------------------------
class MatMul(Op):
    def forward(self, x, y):
        return x @ y

    def backward(self, g, z, x, y):  # Z = XY:  ∂L/∂X = G Yᵀ,  ∂L/∂Y = Xᵀ G
        if x.ndim == 2 and y.ndim == 2:
            return (speed.product_in_layout_of(x, g, y.T) if x.requires_grad else None,
                    speed.product_in_layout_of(y, x.T, g) if y.requires_grad else None)
        # numpy's rules: a 1-D x is a row (1, k), a 1-D y a column (k, 1), and the leading
        # (batch) dimensions broadcast; the walk sums broadcast batches back.
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g2 = g.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        dx = dy = None
        if x.requires_grad:
            dx = g2 @ swap_last(y2)
            if x.ndim == 1:
                dx = dx.reshape(batch + x.shape)
        if y.requires_grad:
            dy = swap_last(x2) @ g2
            if y.ndim == 1:
                dy = dy.reshape(batch + y.shape)
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


def swap_last(t):
    """The tensor with its last two axes swapped (a batch of transposed matrices)."""
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return t.transpose(tuple(axes))
