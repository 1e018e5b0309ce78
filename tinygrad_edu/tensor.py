"""The Tensor and its graph walk.

A Tensor is a numpy array plus two things autodiff needs:

* ``_op``: the primitive op (see ``ops.py``) that produced it, which knows its input
  tensors (``_op.parents``) and how to send a gradient back to them;
* ``grad``: the gradient of the last ``backward()`` root with respect to this tensor.

Every operation on a tensor that requires grad records one op node, so the graph of the
computation is built as the code runs. ``backward()`` walks that graph once, from the
output back to the leaves, in reverse topological order, calling each op's ``backward``.

Ownership: a tensor points to the op that made it, the op points to its inputs, and
nothing points back. So the graph has no reference cycles, and dropping the output frees
it at once.
"""
from __future__ import annotations

import contextlib
import gc
import numbers

import numpy as np


# ---------------------------------------------------------------------------------------
# Modes. The only global state of the engine besides the random generator: whether ops
# record a graph (grad mode), whether they check for nan/inf (anomaly mode), and which
# composite function or module call is running (so that pictures can group primitives).
# ---------------------------------------------------------------------------------------
class _Modes:
    __slots__ = ("grad_enabled", "anomaly", "scope", "backward_of")

    def __init__(self):
        self.grad_enabled = True  # do ops record the graph?
        self.anomaly = False  # do ops check their outputs for nan/inf?
        self.scope = ()  # the composite/module calls running now, outermost first
        self.backward_of = None  # the op whose backward rule is running (for anomaly errors)


_modes = _Modes()


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: nothing computed inside records a graph."""

    def __enter__(self):
        self._prev, _modes.grad_enabled = _modes.grad_enabled, False
        return self

    def __exit__(self, *exc):
        _modes.grad_enabled = self._prev
        return False


class enable_grad(contextlib.ContextDecorator):
    """Context manager and decorator: ops record a graph again (inside a ``no_grad``)."""

    def __enter__(self):
        self._prev, _modes.grad_enabled = _modes.grad_enabled, True
        return self

    def __exit__(self, *exc):
        _modes.grad_enabled = self._prev
        return False


def is_grad_enabled() -> bool:
    return _modes.grad_enabled


class detect_anomaly(contextlib.ContextDecorator):
    """Inside this context the first op that produces a nan or inf raises ``FloatingPointError``.

    The error names the op, and during ``backward()`` also the op whose backward rule was
    running, so a training run that blows up points at its cause. It costs one
    ``np.isfinite`` per op, so leave it off when you are not debugging.
    """

    def __enter__(self):
        self._prev, _modes.anomaly = _modes.anomaly, True
        return self

    def __exit__(self, *exc):
        _modes.anomaly = self._prev
        return False


class Scope:
    """One call of a composite function (``relu``) or of a module (``Linear``).

    Every op recorded during the call keeps the tuple of scopes it ran in (``op.scope``),
    outermost first, so that ``draw_graph`` can collapse a composite into one node or draw
    a module as a cluster. Used as a context manager (``with scope("Linear", "module"):``)
    it is the innermost scope while the block runs; ``nn.Module.__call__`` does that.
    """

    __slots__ = ("name", "kind", "obj", "inputs", "_outer", "__weakref__")

    def __init__(self, name, kind="composite", obj=None, inputs=()):
        self.name, self.kind, self.obj = name, kind, obj  # obj: the module, for a module call
        self.inputs = inputs  # the call's arguments (pictures show the tensors among them)

    def __enter__(self):
        self._outer = _modes.scope
        _modes.scope = self._outer + (self,)
        return self

    def __exit__(self, *exc):
        _modes.scope, self._outer = self._outer, None
        return False

    def __repr__(self):
        return f"Scope({self.name!r}, {self.kind!r})"


scope = Scope  # ``with scope(name, kind, obj, inputs):`` reads better in a with-statement


def composite(fn):
    """Mark a function as a composite op: built from primitives, drawn as one node.

    Its gradient needs nothing extra: the primitives it calls record themselves, and the
    chain rule does the rest. The decorator only names the call for ``draw_graph``.
    """
    name = fn.__name__

    def wrapper(*args, **kwargs):
        if not _modes.grad_enabled:  # nothing is recorded, so there is nothing to name
            return fn(*args, **kwargs)
        prev = _modes.scope
        _modes.scope = prev + (Scope(name, inputs=args),)
        try:
            return fn(*args, **kwargs)
        finally:
            _modes.scope = prev

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


# ---------------------------------------------------------------------------------------
# Turning user data into arrays.
# ---------------------------------------------------------------------------------------
def _as_array(data, dtype=None, where="Tensor()"):
    """Convert what a user passes to an ndarray, following API.md's dtype rules."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
    elif isinstance(data, bool | numbers.Number):
        if isinstance(data, complex):
            raise TypeError(f"{where}: complex numbers are not supported, got {data!r}")
        arr = np.asarray(data, dtype=np.float64)
    elif isinstance(data, list | tuple):
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(
                f"{where}: the nested list is ragged (rows of different lengths), so it is not "
                f"a rectangular array: {_short(data)}"
            ) from e
        if arr.dtype.kind in "iub":
            arr = arr.astype(np.float64)
    else:
        raise TypeError(
            f"{where}: expected a number, a (nested) list of numbers, a numpy array or a Tensor, "
            f"got {type(data).__name__}: {_short(data)}"
        )
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{where}: expected numeric data, got an array of dtype {arr.dtype} "
            f"({_short(data)})"
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    return arr


def _short(obj, n=60):
    s = repr(obj)
    return s if len(s) <= n else s[: n - 3] + "..."


# ---------------------------------------------------------------------------------------
# The Tensor.
# ---------------------------------------------------------------------------------------
class Tensor:
    """A numpy array that remembers how it was computed, so gradients can flow back."""

    __slots__ = ("data", "grad", "requires_grad", "label", "_op", "__weakref__")
    __array_ufunc__ = None  # numpy defers to us: np_array * tensor calls Tensor.__rmul__
    __hash__ = object.__hash__  # == is elementwise, so hash by identity

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        self.data = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor(): only float tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._op = None

    @classmethod
    def _make(cls, data, op=None, requires_grad=False):
        """Fast constructor for the engine's own results (no checks, no conversion)."""
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad, t.label, t._op = data, None, requires_grad, None, op
        return t

    # ----- array-like properties -----------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    T = property(lambda self: ops.Transpose.apply(self, axes=tuple(range(self.data.ndim - 1, -1, -1))))
    is_leaf = property(lambda self: self._op is None)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with exactly one element converts to a Python number; "
                f"this one has shape {self.shape} ({self.size} elements). Reduce it first, "
                f"e.g. .sum() or .mean(), or use .tolist()."
            )
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any()/.all() on .data")
        return bool(self.data)

    def detach(self):
        """A tensor sharing this one's data, cut off from the graph."""
        return Tensor._make(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", precision=4)
        extra = ""
        if self.data.dtype != np.float64:
            extra += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self.label is not None:
            extra += f", label={self.label!r}"
        return f"Tensor({body}{extra})"

    # ----- backward ------------------------------------------------------------------------
    def backward(self, gradient=None, create_graph=False):
        """Fill ``.grad`` of every tensor in the graph that requires grad (accumulating).

        ``gradient`` is d(loss)/d(self); it may be left out when this tensor has one element.
        With ``create_graph=True`` the backward pass is itself recorded, so ``.grad`` can be
        differentiated again (note: then a leaf's ``.grad`` refers back to the graph that
        contains the leaf, a reference cycle, as in PyTorch; ``tg.grad`` avoids it).
        """
        seed = _seed_gradient(self, gradient, "backward()")
        # The walk makes no reference cycles, so Python's cyclic garbage collector has
        # nothing to find in it; paused, it does not scan the whole live graph each time the
        # walk's new gradients trigger a collection (that doubled backward() on long chains).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for t, g in _backprop(self, seed, create_graph):
                t.grad = g if t.grad is None else _accumulate(t.grad, g, create_graph)
        finally:
            if collecting:
                gc.enable()

    # ----- operators: each is one primitive op or a short composite -----------------------
    def __add__(self, other):
        return ops.Add.apply(self, _lift(other, self))

    def __radd__(self, other):
        return ops.Add.apply(_lift(other, self), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, _lift(other, self))

    def __rmul__(self, other):
        return ops.Mul.apply(_lift(other, self), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, _lift(other, self))

    def __rtruediv__(self, other):
        return ops.Div.apply(_lift(other, self), self)

    def __pow__(self, p):
        return ops.Pow.apply(self, _lift(p, self))

    def __rpow__(self, base):
        return ops.Pow.apply(_lift(base, self), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, _lift(other, self))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(_lift(other, self), self)

    def __getitem__(self, idx):
        return ops.GetItem.apply(self, idx=_index(idx))

    def __neg__(self):
        return composites.neg(self)

    def __sub__(self, other):
        return composites.sub(self, other)

    def __rsub__(self, other):
        return composites.sub(_lift(other, self), self)

    # comparisons are not differentiable: they return constant boolean tensors
    def __lt__(self, other):
        return Tensor._make(self.data < _raw(other))

    def __le__(self, other):
        return Tensor._make(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor._make(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor._make(self.data >= _raw(other))

    def __eq__(self, other):
        return Tensor._make(self.data == _raw(other))

    def __ne__(self, other):
        return Tensor._make(self.data != _raw(other))

    # ----- primitive methods ----------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def maximum(self, other):
        return ops.Maximum.apply(self, _lift(other, self))

    def sum(self, axis=None, keepdims=False):
        return ops.Sum.apply(self, axis=_axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.apply(self, axis=_axes(axis, self.ndim, "max"), keepdims=keepdims)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        return ops.Transpose.apply(self, axes=tuple(axes))

    def expand(self, *shape):
        """Broadcast to ``shape`` (numpy's broadcast_to); the gradient is summed back."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return ops.Expand.apply(self, shape=tuple(shape))

    # ----- composite methods (composites.py) -----------------------------------------------
    def sqrt(self):
        return composites.sqrt(self)

    def abs(self):
        return composites.abs(self)

    def minimum(self, other):
        return composites.minimum(self, other)

    def clip(self, lo=None, hi=None):
        return composites.clip(self, lo, hi)

    def relu(self):
        return composites.relu(self)

    def elu(self, alpha=1.0):
        return composites.elu(self, alpha)

    def softplus(self):
        return composites.softplus(self)

    def sigmoid(self):
        return composites.sigmoid(self)

    def tanh(self):
        return composites.tanh(self)

    def leaky_relu(self, negative_slope=0.01):
        return composites.leaky_relu(self, negative_slope)

    def mean(self, axis=None, keepdims=False):
        return composites.mean(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return composites.min(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return composites.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        return composites.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return composites.log_softmax(self, axis)

    def flatten(self):
        return self.reshape(-1)


# ---------------------------------------------------------------------------------------
# Helpers for the operators.
# ---------------------------------------------------------------------------------------
def _lift(x, like):
    """Make ``x`` a tensor to combine with ``like``. Numbers and arrays take ``like``'s dtype,
    so a float32 graph stays float32 whatever scalars enter it (API.md's dtype rule)."""
    if isinstance(x, Tensor):
        return x
    if type(x) is float or type(x) is int:  # the common case, x * 2.0: make it quick
        return Tensor._make(np.array(x, dtype=like.data.dtype))
    arr = _as_array(x, where=f"an operand combined with a tensor of shape {like.shape}")
    return Tensor._make(arr.astype(like.data.dtype, copy=False))


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _index(idx):
    """Indices may hold tensors (e.g. labels); numpy wants arrays, and integer ones."""
    if isinstance(idx, tuple):
        return tuple(_index(i) for i in idx)
    if isinstance(idx, Tensor):
        idx = idx.data
    if isinstance(idx, np.ndarray) and idx.dtype.kind == "f":
        if not np.all(idx == np.round(idx)):
            raise IndexError("indexing: float indices must hold whole numbers")
        idx = idx.astype(np.intp)
    return idx


def _axes(axis, ndim, opname):
    """Normalise an axis argument: None, an int or a tuple of ints, checked against ndim."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in items:
        if not isinstance(a, int | np.integer) or not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{opname}: axis {axis!r} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    return tuple(out) if isinstance(axis, tuple | list) else out[0]


# ---------------------------------------------------------------------------------------
# The graph walk.
# ---------------------------------------------------------------------------------------
def _seed_gradient(root, gradient, where):
    if not isinstance(root, Tensor):
        raise TypeError(f"{where}: expected a Tensor output, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError(
            f"{where}: this tensor (shape {root.shape}) does not require grad, so there is no graph "
            f"to differentiate. Create the inputs with requires_grad=True (and not inside no_grad())."
        )
    if gradient is None:
        if root.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {root.shape}; a gradient can be seeded implicitly only "
                f"for a one-element output. Reduce it (e.g. .sum()) or pass gradient= an array of "
                f"shape {root.shape}."
            )
        return Tensor._make(np.ones(root.shape, dtype=root.dtype))
    g = gradient if isinstance(gradient, Tensor) else Tensor._make(_as_array(gradient, where=f"{where} gradient"))
    if g.shape != root.shape:
        raise ValueError(f"{where}: gradient has shape {g.shape}, but the output has shape {root.shape}; they must match")
    if g.dtype != root.dtype:
        g = Tensor._make(g.data.astype(root.dtype))
    return g


def topological_order(root):
    """The tensors that ``root`` depends on through recorded ops, inputs before outputs.

    Iterative depth-first search (an explicit stack instead of recursion), so a chain of
    100,000 ops needs no deep Python stack. Only tensors that require grad are followed:
    constants have no graph behind them.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._op is not None:
            for p in t._op.parents:
                if p.requires_grad and id(p) not in visited:
                    stack.append((p, False))
    return order


def _backprop(root, seed, create_graph):
    """Return ``[(tensor, gradient), ...]`` for every tensor in root's graph that requires grad.

    Tensors are visited in reverse topological order: when a tensor comes up, every op that
    used it has already sent its share of the gradient back, so its gradient is complete,
    and its own op can send it on to its inputs (the chain rule).
    """
    done = []
    record = bool(create_graph)  # rules get Tensors (recorded) or plain arrays (fast)
    anomaly = _modes.anomaly
    grads = {id(root): seed if record else seed.data}
    prev_mode = _modes.grad_enabled
    _modes.grad_enabled = record
    try:
        for t in reversed(topological_order(root)):
            g = grads.pop(id(t), None)
            if g is None:  # t does not influence root
                continue
            done.append((t, g if record else Tensor._make(g if type(g) is np.ndarray else np.asarray(g))))
            op = t._op
            if op is None:  # a leaf: nothing further back
                continue
            parents = op.parents
            if anomaly:
                _modes.backward_of = op  # so an error inside the rule can name it
            if record:
                in_grads = op.backward(g, t, *parents)
            else:
                in_grads = op.backward(g, t.data, *[p.data for p in parents])
            for p, pg in zip(parents, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                shape = p.data.shape
                if pg.shape != shape:  # the one place where broadcasting is undone
                    pg = unbroadcast(pg, shape)
                if pg.dtype is not p.data.dtype:  # e.g. float32 input, float64 partner
                    pg = ops.cast(pg, p.data.dtype)
                if anomaly:
                    _modes.backward_of = None
                    _check_finite(ops.values(pg), f"the backward rule of '{op.name}'{_where_in(op)} computed a "
                                  f"gradient for its input {[q is p for q in parents].index(True)} (shape {shape}) that")
                k = id(p)
                grads[k] = pg if k not in grads else grads[k] + pg
    finally:
        _modes.grad_enabled = prev_mode
        _modes.backward_of = None
    return done


def _accumulate(a, b, create_graph):
    """a + b for gradients; a plain numpy add when no graph is being recorded."""
    if create_graph:
        return a + b
    return Tensor._make(np.asarray(a.data + b.data))


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that numpy broadcasting added or stretched, giving ``shape``.

    If y = broadcast(x), every element of x was copied to several places of y, so its
    gradient is the sum of the gradients of all its copies.
    """
    lead = g.ndim - len(shape)  # axes broadcasting added in front
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if stretched:  # size-1 axes that were stretched: sum, keeping them as size 1
        g = g.sum(axis=stretched, keepdims=True)
    if lead:  # axes that were added: sum them away
        g = g.sum(axis=tuple(range(lead)))
    return g


def _where_in(op):
    """' (inside softplus, in Linear)': the composite and module calls an op ran in."""
    names = [sc.name for sc in reversed(op.scope)]
    return f" (inside {', in '.join(names)})" if names else ""


def _check_finite(arr, what):
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = "nan" if np.isnan(arr).any() else "inf"
        running = _modes.backward_of
        during = f", while running the backward rule of '{running.name}'" if running is not None else ""
        raise FloatingPointError(f"detect_anomaly: {what} contains {bad}{during}")


from . import composites, ops  # noqa: E402  (the ops need Tensor, defined above)
