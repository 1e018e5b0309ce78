"""Derivatives as values: ``jacobian``, ``hessian``, ``hvp``, ``jvp``; and checking your own ops.

Signatures follow ``torch.autograd.functional``: ``jacobian(f, x)`` has shape
``f(x).shape + x.shape``; ``hvp(f, x, v)`` and ``jvp(f, x, v)`` return ``(f(x), product)``.
Each takes one input tensor (or array).

All four are built on the reverse-mode walk (``tensor.backprop``), the engine's only
differentiation. A vector-Jacobian product uᵀJ costs one backward pass, so:

* ``jacobian`` runs one backward pass per output element (row i is eᵢᵀJ);
* ``hessian(f, x)`` is the jacobian of ``tg.grad(f)``: the gradient function records its
  own backward pass, so it can be differentiated again;
* ``hvp`` is the gradient of x ↦ ∇f(x)·v (v held fixed), which is H v, at the cost of
  about two backward passes and without ever forming H;
* ``jvp`` is *not* a true forward mode (that would carry a tangent alongside every value
  through the forward pass). It is the **double-VJP trick**: u ↦ Jᵀu is linear in u, so
  differentiating u ↦ (Jᵀu)·v with respect to u gives J v. It needs the backward rules to
  be differentiable, which every rule in this engine is (they are math on Tensors), and
  costs about three passes where forward mode would cost one.

Your own primitive
------------------
A primitive is a subclass of ``ops.Op`` with ``forward`` on numpy arrays and ``backward``
on Tensors (the vector-Jacobian product), exactly like the built-in ones::

    class Cube(tg.Op):
        def forward(self, x):            # arrays in, array out; keyword parameters allowed
            return x ** 3

        def backward(self, g, z, x):     # ∂L/∂x = g · 3x², one entry per input
            return (g * 3.0 * x * x,)

    y = Cube.apply(t)                    # records the node when t requires grad
    tg.functional.gradcheck_op(Cube, np.random.randn(3))

``forward`` may keep what ``backward`` needs on ``self`` (an axis, a mask); ``backward``
returns None for an input that does not require grad. Broadcasting is undone by the walk.
``gradcheck_op`` checks the structure of what backward returns, the gradient against
central differences and, because a rule written as math on Tensors is itself
differentiable, the second derivative too.
"""
from __future__ import annotations

import numpy as np

from .autodiff import grad, gradcheck
from .modes import enable_grad, no_grad, set_grad_enabled
from .tensor import Tensor, backprop, topological_order


def variable(x, where):
    """A float tensor that requires grad: x itself if it already does (so an outer
    derivative can see through), else a new float64 (or float32) leaf with x's values."""
    if isinstance(x, Tensor) and x.requires_grad:
        return x
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{where}: the input must be a Tensor, an array or a number, got {type(x).__name__}")
    return Tensor(arr if arr.dtype.kind == "f" else arr.astype(np.float64), requires_grad=True)


def output_of(f, x, where):
    with enable_grad():
        out = f(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"{where}: the function must return a Tensor, got {type(out).__name__}")
    return out


def jacobian(f, x, create_graph=False):
    """∂f/∂x as a tensor of shape ``f(x).shape + x.shape``: entry [i..., j...] is ∂fᵢ/∂xⱼ.

    One backward pass per output element. With ``create_graph=True`` the passes are
    recorded, so the Jacobian can be differentiated again (``hessian`` does).
    """
    xv = variable(x, "jacobian")
    out = output_of(f, xv, "jacobian")
    rows = []
    order = topological_order(out) if out.requires_grad else []
    for k in range(out.size):
        row = None
        if order:
            seed = np.zeros(out.size, dtype=out.dtype)
            seed[k] = 1.0
            with set_grad_enabled(create_graph and xv.requires_grad):
                row = backprop(order, Tensor.wrap(seed.reshape(out.shape))).get(xv)
        rows.append(row if row is not None else Tensor.wrap(np.zeros(xv.shape, dtype=xv.dtype)))
    if not rows:
        return Tensor.wrap(np.zeros(out.shape + xv.shape, dtype=xv.dtype))
    from .composites_layout import stack  # here, not at the top: composites import the Tensor
    with set_grad_enabled(create_graph):
        return stack(rows).reshape(out.shape + xv.shape)


def hessian(f, x, create_graph=False):
    """The matrix of second derivatives of a scalar f, shape ``x.shape + x.shape``:
    the jacobian of the gradient function ``tg.grad(f)`` (recorded if ``create_graph``)."""
    h = jacobian(grad(f), x, create_graph=True)
    return h if create_graph else h.detach()


def hvp(f, x, v, create_graph=False):
    """``(f(x), H v)`` for scalar f: the gradient of x ↦ ∇f(x)·v, so H is never formed."""
    v = Tensor(v) if not isinstance(v, Tensor) else v
    xv = variable(x, "hvp")
    if v.shape != xv.shape:
        raise ValueError(f"hvp: v has shape {v.shape} but x has shape {xv.shape}; they must match")
    with no_grad():
        value = f(Tensor(xv.data))
    product = grad(lambda t: (grad(f)(t) * v).sum())(xv)
    return value, product if create_graph else product.detach()


def jvp(f, x, v):
    """``(f(x), J v)`` by the double-VJP trick (see the module docstring): with u a dummy
    cotangent that requires grad, g(u) = Jᵀu is recorded, and J v = ∂(g(u)·v)/∂u."""
    v = Tensor(v) if not isinstance(v, Tensor) else v
    xv = variable(x, "jvp")
    if v.shape != xv.shape:
        raise ValueError(f"jvp: v has shape {v.shape} but x has shape {xv.shape}; they must match")
    out = output_of(f, xv, "jvp")
    value = out.detach()
    u = Tensor(np.zeros(out.shape, dtype=out.dtype), requires_grad=True)
    with enable_grad():
        gx = backprop(topological_order(out), u).get(xv) if out.requires_grad else None
        if gx is None or not gx.requires_grad:  # f does not depend on x: J = 0
            return value, Tensor.wrap(np.zeros(out.shape, dtype=out.dtype))
        s = (gx * v).sum()
    with no_grad():
        jv = backprop(topological_order(s), Tensor.wrap(np.ones((), dtype=s.dtype))).get(u)
    return value, jv if jv is not None else Tensor.wrap(np.zeros(out.shape, dtype=out.dtype))


def gradcheck_op(op_class, *inputs, second_order=True, seed=0, **params):
    """Check a user-defined primitive (an ``ops.Op`` subclass) called as
    ``op_class.apply(*inputs, **params)``: that ``backward`` returns one gradient (or None)
    per input, each with its input's shape or broadcastable to it; the gradient against
    central differences (``tg.gradcheck``); and with ``second_order`` the gradient of the
    gradient, which is correct only if ``backward`` is math on Tensors. Returns True or
    raises ``tg.GradcheckError`` (or TypeError for a malformed backward)."""
    name = getattr(op_class, "__name__", repr(op_class))
    if not (isinstance(op_class, type) and hasattr(op_class, "apply") and hasattr(op_class, "backward")):
        raise TypeError(f"gradcheck_op: expected a subclass of tg.Op (the class, not an instance or a "
                        f"function), got {type(op_class).__name__} {name}")
    xs = [Tensor(np.array(np.asarray(x), dtype=np.float64), requires_grad=True) for x in inputs]
    out = op_class.apply(*xs, **params)
    with no_grad():
        shares = out.op.backward(Tensor.wrap(np.ones(out.shape)), out, *xs)
    if not isinstance(shares, tuple | list) or len(shares) != len(xs):
        raise TypeError(f"gradcheck_op: {name}.backward must return a tuple with one entry per input "
                        f"({len(xs)}), got {type(shares).__name__}"
                        + (f" of length {len(shares)}" if isinstance(shares, tuple | list) else ""))
    for i, (s, x) in enumerate(zip(shares, xs)):
        if s is not None and not isinstance(s, Tensor):
            raise TypeError(f"gradcheck_op: {name}.backward returned a {type(s).__name__} for input {i}; "
                            f"backward rules are math on Tensors (g, z and the inputs are Tensors)")
        if s is not None and np.broadcast_shapes(s.shape, x.shape) != s.shape:
            raise TypeError(f"gradcheck_op: {name}.backward returned shape {s.shape} for input {i} "
                            f"of shape {x.shape}")
    apply = lambda *ts: op_class.apply(*ts, **params)  # noqa: E731
    gradcheck(apply, *inputs, seed=seed)
    if second_order:
        v = np.random.default_rng(seed + 1).standard_normal(out.shape)
        for i in range(len(xs)):
            first = grad(lambda *ts: (apply(*ts) * v).sum(), argnums=i)
            gradcheck(first, *inputs, seed=seed)
    return True
