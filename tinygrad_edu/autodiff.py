"""Functions on top of the graph walk: ``grad`` (gradients as functions) and ``gradcheck``."""
from __future__ import annotations

import numpy as np

from .modes import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, backprop, check_unmodified, initial_gradient, topological_order


def grad(f, argnums=0):
    """Return a function that computes the gradient of scalar-valued ``f``.

    ``tg.grad(f)(x)`` is ∂f/∂x at x, as a Tensor of x's shape; with ``argnums`` a tuple it
    returns a tuple of gradients. It nests: ``tg.grad(tg.grad(f))(x)`` is f''(x), and
    ``tg.grad(tg.grad(f, argnums=1), argnums=0)(x, y)`` is ∂²f/∂x∂y. The gradients are
    returned, not stored in ``.grad``: no tensor's ``.grad`` changes.

    Each differentiated argument becomes a variable of its own: a fresh tensor, or, for a
    tensor that already requires grad (an enclosing grad's variable, a parameter), a new
    node on top of it, so that ``tg.grad(lambda y: x * y)(x)`` is x (the partial
    derivative, as in ``torch.func.grad``), not 2x. The backward pass is recorded whenever
    the gradient can depend on something outside this call, a tensor ``f`` closes over or
    an enclosing grad's variable, so that it can be differentiated again; a variable of a
    grad call that has returned no longer counts.
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def grad_f(*args):
        args, own = list(args), []
        for i in nums:
            if i >= len(args):
                raise TypeError(f"grad: argnums asks for argument {i}, but the function got {len(args)} argument(s)")
            a = args[i]
            if isinstance(a, Tensor) and a.requires_grad and is_grad_enabled():
                args[i] = a.reshape(a.shape)  # a node of its own, on top of a: outer grads see through it
            else:
                args[i] = Tensor(a, requires_grad=True, dtype=None if _is_float(a) else np.float64)
                own.append(args[i])
        try:
            with enable_grad():  # a gradient is asked for, so record f even inside no_grad()
                out = f(*args)
            if not isinstance(out, Tensor):
                raise TypeError(f"grad: the function must return a Tensor, got {type(out).__name__}")
            if out.size != 1:
                raise ValueError(f"grad: the function must return one number (a scalar), got shape {out.shape}")
            grads = {}
            if out.requires_grad:
                order = topological_order(out)
                check_unmodified(order)  # as backward() does
                mine = {id(v) for v in own}
                record = is_grad_enabled() and any(t.op is None and id(t) not in mine for t in order)
                with set_grad_enabled(record):
                    grads = backprop(order, initial_gradient(out, None, "grad"))
        finally:
            for v in own:  # nobody can ask for a derivative with respect to them any more, so
                v.requires_grad = False  # an enclosing grad need not record for their sake
        zero = lambda t: Tensor.wrap(np.zeros_like(t.data))  # noqa: E731
        result = tuple(grads[args[i]] if args[i] in grads else zero(args[i]) for i in nums)
        return result[0] if single else result

    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def _is_float(a):
    return np.asarray(a.data if isinstance(a, Tensor) else a).dtype.kind == "f"


class GradcheckError(AssertionError):
    """The analytic gradient (backward) disagrees with the numeric one (finite differences)."""


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check ``backward`` of ``f`` against central finite differences, in float64.

    Every input is copied to a float64 tensor that requires grad. If ``f`` returns more
    than one number, the check is of the vector-Jacobian product with a random (but fixed
    by ``seed``) upstream gradient v, i.e. of ∂(v·f)/∂x, which catches transposed or
    permuted gradients that an all-ones v would hide.

    Returns True, or raises ``GradcheckError`` naming the input, the worst element, and the
    analytic and numeric values there. A nan or inf fails too, as no tolerance can call it a
    match: in f(x) (naming the output element), or in either gradient (naming the input's).
    """
    xs = [Tensor(np.array(np.asarray(x), dtype=np.float64), requires_grad=True) for x in inputs]
    out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    if not np.all(np.isfinite(out.data)):
        k = tuple(int(n) for n in np.argwhere(~np.isfinite(out.data))[0])
        raise GradcheckError(f"gradcheck: f(x) is not finite at output element {k} ({float(out.data[k]):g}), so "
                             f"no gradient through it can be checked; choose inputs where f is defined")
    v = np.random.default_rng(seed).standard_normal(out.shape) if out.size != 1 else np.ones(out.shape)

    def values(*arrays):  # f(x) as float64 numbers (a copy: f may return a view of x), no graph
        with no_grad():
            return np.array(f(*[Tensor(a) for a in arrays]).data, dtype=np.float64)

    analytic = [np.zeros_like(x.data) for x in xs]
    if out.requires_grad:
        with no_grad():
            got = backprop(topological_order(out), Tensor.wrap(v.astype(out.dtype)))
        for i, x in enumerate(xs):
            if x in got:
                analytic[i] = np.asarray(got[x].data, dtype=np.float64)

    arrays = [x.data.copy() for x in xs]
    for i, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        for j in np.ndindex(a.shape):
            old = a[j]
            a[j] = old + eps
            up = values(*arrays)
            a[j] = old - eps
            down = values(*arrays)
            a[j] = old
            change = np.where(up == down, 0.0, up - down)  # an output that xⱼ does not move adds 0
            numeric[j] = np.sum(change * v) / (2 * eps)
        finite = np.isfinite(analytic[i]) & np.isfinite(numeric)
        if not finite.all():  # a nan or inf in either: no tolerance makes that a match
            k = tuple(int(n) for n in np.argwhere(~finite)[0])
            raise GradcheckError(
                f"gradcheck: the gradient for input {i} (shape {a.shape}) is not finite at element {k}: "
                f"analytic (backward) {analytic[i][k]:.8g}, numeric (central difference, eps={eps:g}) "
                f"{numeric[k]:.8g}; a nan or inf cannot be checked ({int((~finite).sum())} of {a.size} "
                f"element(s) are not finite): check f where it is defined and differentiable"
            )
        excess = np.abs(analytic[i] - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and np.max(excess) > 0:
            k = np.unravel_index(np.argmax(excess), a.shape)
            raise GradcheckError(
                f"gradcheck: the gradient for input {i} (shape {a.shape}) is wrong at element "
                f"{tuple(int(n) for n in k)}: analytic (backward) {analytic[i][k]:.8g}, numeric "
                f"(central difference, eps={eps:g}) {numeric[k]:.8g}; allowed |difference| is "
                f"atol + rtol·|numeric| = {atol + rtol * abs(numeric[k]):.3g}"
            )
    return True
