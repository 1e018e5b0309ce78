"""Functions on top of the graph walk: ``grad`` (gradients as functions) and ``gradcheck``."""
from __future__ import annotations

import numpy as np

from .modes import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, backprop, initial_gradient, topological_order


def grad(f, argnums=0):
    """Return a function that computes the gradient of scalar-valued ``f``.

    ``tg.grad(f)(x)`` is ∂f/∂x at x, as a Tensor of x's shape; with ``argnums`` a tuple it
    returns a tuple of gradients. It nests: ``tg.grad(tg.grad(f))(x)`` is f''(x). The
    gradients are returned, not stored in ``.grad``: no tensor's ``.grad`` changes.
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def grad_f(*args):
        args, created = list(args), set()
        for i in nums:
            if i >= len(args):
                raise TypeError(f"grad: argnums asks for argument {i}, but the function got {len(args)} argument(s)")
            a = args[i]
            if not (isinstance(a, Tensor) and a.requires_grad and is_grad_enabled()):
                a = Tensor(a, requires_grad=True, dtype=None if _is_float(a) else np.float64)
                created.add(id(a))
            args[i] = a  # a tensor that requires grad already keeps its graph: an outer grad needs it
        with enable_grad():  # a gradient is asked for, so record f even inside no_grad()
            out = f(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"grad: the function must return a Tensor, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"grad: the function must return one number (a scalar), got shape {out.shape}")
        grads = {}
        if out.requires_grad:
            order = topological_order(out)
            # Record the backward pass when anything else in the graph requires grad (an
            # outer grad's variable, a tensor f closes over): then the gradient depends on
            # it, and an enclosing grad must be able to differentiate that dependence.
            record = is_grad_enabled() and any(t.op is None and id(t) not in created for t in order)
            with set_grad_enabled(record):
                grads = backprop(order, initial_gradient(out, None, "grad"))
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
    analytic and numeric values there.
    """
    xs = [Tensor(np.array(np.asarray(x), dtype=np.float64), requires_grad=True) for x in inputs]
    out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    v = np.random.default_rng(seed).standard_normal(out.shape) if out.size != 1 else np.ones(out.shape)

    def scalar(*arrays):  # v · f(x), computed without a graph
        with no_grad():
            y = f(*[Tensor(a) for a in arrays])
        return float(np.sum(np.asarray(y.data, dtype=np.float64) * v))

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
            up = scalar(*arrays)
            a[j] = old - eps
            down = scalar(*arrays)
            a[j] = old
            numeric[j] = (up - down) / (2 * eps)
        excess = np.abs(analytic[i] - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (np.max(excess) > 0 or not np.all(np.isfinite(analytic[i]))):
            k = np.unravel_index(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)), a.shape)
            raise GradcheckError(
                f"gradcheck: the gradient for input {i} (shape {a.shape}) is wrong at element "
                f"{tuple(int(n) for n in k)}: analytic (backward) {analytic[i][k]:.8g}, numeric "
                f"(central difference, eps={eps:g}) {numeric[k]:.8g}; allowed |difference| is "
                f"atol + rtol·|numeric| = {atol + rtol * abs(numeric[k]):.3g}"
            )
    return True
