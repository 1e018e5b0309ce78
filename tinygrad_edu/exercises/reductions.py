"""Exercises: the backward rules that change shapes (sum, max, matmul) and ``unbroadcast``.

The right answers come from the engine (``tg.grad``); known wrong variants (the transpose
left out, ties not shared, broadcasting not undone, ...) are computed on the same inputs.
"""
from __future__ import annotations

import numpy as np

import tinygrad_edu as tg

from .checks import (Exercise, Failure, Mistake, call, expect_close, for_all, shape, student_function,
                     unpack)
from .rules import LECTURE, engine_gradients


def _axis_choices(ndim):
    """None, every axis (also counted from the end) and, for 2-D and more, a pair of axes."""
    return [None, *range(ndim), *range(-ndim, 0)] + ([(0, ndim - 1)] if ndim >= 2 else [])


def _kept(g, x, axis):
    """g with the reduced axes put back as size 1, so that it broadcasts against x."""
    return np.expand_dims(g, tuple(range(x.ndim)) if axis is None else axis)


# ---------------------------------------------------------------------------------------
def _check_reduction(module, name, reduce, inputs, variants):
    fn = student_function(module, name)
    g, x, axis = inputs["g"], inputs["x"], inputs["axis"]
    op = lambda t: reduce(t, axis)  # noqa: E731
    want = engine_gradients(op, g, [x], 1)[0]
    no_chain = engine_gradients(op, np.ones_like(g), [x], 1)[0]
    got = call(fn, g, x, axis, inputs=inputs)
    mistakes = [Mistake("forgot the chain rule (did not multiply by g)", no_chain,
                        "Your answer is ∂z/∂x alone; multiply it by g (put back to x's shape)."),
                *variants(g, x, axis, want)]
    expect_close("the gradient for x", got, want, inputs, [m for m in mistakes if m.value is not None])


def _sum_variants(g, x, axis, want):
    try:
        misplaced = np.broadcast_to(g, x.shape)  # g stretched without putting the summed axes back
    except ValueError:
        misplaced = None
    return [Mistake("summed axis not put back", misplaced,
                    "Broadcasting g straight to x's shape lines its axes up from the right, along the "
                    "wrong axis. Put the summed axes back first: np.expand_dims(g, axis)."),
            Mistake("divided by the count (that is the rule of mean)", want * g.size / x.size,
                    "Each xᵢ enters the sum once with slope 1: copy g back, do not divide it.")]


def _check_sum(module):
    def run(inp):
        _check_reduction(module, "sum_backward", lambda t, a: t.sum(axis=a), inp, _sum_variants)

    run({"g": np.array([0.5, -2.0, 3.0]), "x": np.arange(9.0).reshape(3, 3), "axis": 1})
    run({"g": np.array(1.5), "x": np.array([[1.0, -2.0], [0.5, 4.0]]), "axis": None})

    def case(draw):
        x = draw.floats(shape(draw), -3, 3)
        axis = draw.choice(_axis_choices(x.ndim))
        return {"g": draw.floats(np.sum(x, axis=axis).shape, -2, 2), "x": x, "axis": axis}

    for_all(case, run)


SUM = Exercise(
    name="sum_backward", title="the backward rule of a sum over axes", lecture=LECTURE, minutes=10,
    task="Write sum_backward(g, x, axis): for z = x.sum(axis=axis) (axis None, an int, possibly\n"
         "negative, or a tuple of ints) and g = ∂L/∂z (the shape of z), return ∂L/∂x (x's shape).",
    math="z_j = Σᵢ x_ij  (summing over the axis),   ∂z_j/∂x_ij = 1\n"
         "∂L/∂x_ij = g_j: g is copied back along every summed axis",
    hint="The summed axes are gone from g. Put them back with size 1, np.expand_dims(g, axis)\n"
         "(for axis=None: every axis), then np.broadcast_to(..., x.shape). Return a copy.",
    code='''import numpy as np


def sum_backward(g, x, axis=None):
    """Return gx, the gradient of L for x, where z = x.sum(axis=axis) and g = ∂L/∂z."""
    raise NotImplementedError("sum_backward: not done yet")
''',
    check=_check_sum,
)


# ---------------------------------------------------------------------------------------
def _max_variants(g, x, axis, want):
    is_max = x == x.max(axis=axis, keepdims=True)
    first = None
    if axis is None or isinstance(axis, int):
        first = np.zeros_like(x)  # the whole g to the first maximum only (np.argmax's choice)
        flat = x.reshape(-1) if axis is None else x
        hot = np.zeros_like(flat)
        index = np.expand_dims(np.argmax(flat, axis=0 if axis is None else axis), 0 if axis is None else axis)
        np.put_along_axis(hot, index, 1.0, axis=0 if axis is None else axis)
        first = hot.reshape(x.shape) * _kept(g, x, axis)
    return [Mistake("tie not shared", is_max * _kept(g, x, axis),
                    "Every tied maximum got the whole g. The ties share it equally: divide g by how "
                    "many elements tie for the maximum (the convention of PyTorch's amax and of this engine)."),
            Mistake("tie not shared", first,
                    "Only the first maximum got g (np.argmax picks one). Tied maxima share g equally.")]


def _check_max(module):
    def run(inp):
        _check_reduction(module, "max_backward", lambda t, a: t.max(axis=a), inp, _max_variants)

    run({"g": np.array(1.5), "x": np.array([1.0, 3.0, 3.0]), "axis": None})
    run({"g": np.array([2.0, -1.0]), "x": np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]), "axis": 1})

    def case(draw):
        x = draw.ints(shape(draw), -2, 2).astype(np.float64)  # few values, so ties are common
        axis = draw.choice(_axis_choices(x.ndim))
        return {"g": draw.floats(np.max(x, axis=axis).shape, -2, 2), "x": x, "axis": axis}

    for_all(case, run)


MAX = Exercise(
    name="max_backward", title="the backward rule of a max over axes, with ties", lecture=LECTURE, minutes=15,
    task="Write max_backward(g, x, axis): for z = x.max(axis=axis) and g = ∂L/∂z, return ∂L/∂x.\n"
         "Where several elements tie for the maximum, they share g equally (the engine's and\n"
         "PyTorch's convention): two tied maxima get g/2 each.",
    math="z_j = maxᵢ x_ij,   ∂z_j/∂x_ij = 1 if x_ij is the maximum, else 0\n"
         "with k tied maxima: ∂L/∂x_ij = g_j / k for each of them, 0 for the others\n"
         "(max is where ReLU's max{0, z} comes from in the lecture; its kinks need a convention)",
    hint="is_max = (x == x.max(axis=axis, keepdims=True)); count the ties with\n"
         "is_max.sum(axis=axis, keepdims=True); put g's reduced axes back with np.expand_dims(g, axis)\n"
         "(axis=None: every axis).",
    code='''import numpy as np


def max_backward(g, x, axis=None):
    """Return gx, the gradient of L for x, where z = x.max(axis=axis) and g = ∂L/∂z.
    Tied maxima share g equally."""
    raise NotImplementedError("max_backward: not done yet")
''',
    check=_check_max,
)


# ---------------------------------------------------------------------------------------
def _maybe(f):
    try:
        return f()
    except ValueError:  # the shapes of this wrong variant do not line up: it cannot be it
        return None


def _check_matmul_once(module, inputs):
    fn = student_function(module, "matmul_backward")
    g, x, y = inputs.values()
    want = engine_gradients(lambda a, b: a @ b, g, [x, y], 2)
    no_chain = engine_gradients(lambda a, b: a @ b, np.ones_like(g), [x, y], 2)
    try:
        got = unpack("matmul_backward()", call(fn, g, x, y, inputs=inputs), 2)
    except Failure as f:
        if "matmul" in f.text and "mismatch" in f.text:
            raise Failure(f"{f.text}\n  The shapes of a product did not line up: is a transpose missing? "
                          "gx = g @ yᵀ is (n, m) @ (m, k); gy = xᵀ @ g is (k, n) @ (n, m).") from None
        raise
    transposed = "Your answer is the transpose of the right one: check which factor is transposed."
    mistakes = [
        [Mistake("missing transpose", _maybe(lambda: g @ y), "gx = g @ yᵀ, not g @ y: y must be transposed."),
         Mistake("factors in the wrong order", _maybe(lambda: y.T @ g), "gx = g @ yᵀ: g comes first."),
         Mistake("missing transpose", _maybe(lambda: y @ g.T), transposed)],
        [Mistake("missing transpose", _maybe(lambda: x @ g), "gy = xᵀ @ g, not x @ g: x must be transposed."),
         Mistake("factors in the wrong order", _maybe(lambda: g @ x.T), "gy = xᵀ @ g: xᵀ comes first."),
         Mistake("missing transpose", _maybe(lambda: g.T @ x), transposed)],
    ]
    for i, which in enumerate(("x", "y")):
        chain = Mistake("forgot the chain rule (did not multiply by g)", no_chain[i],
                        "Your answer is the rule with g replaced by ones: use g itself.")
        expect_close(f"the gradient for {which}", got[i], want[i], inputs,
                     [m for m in [*mistakes[i], chain] if m.value is not None])


def _check_matmul(module):
    _check_matmul_once(module, {"g": np.array([[1.0, -2.0], [0.5, 3.0]]), "x": np.array([[1.0, 2.0], [3.0, 4.0]]),
                                "y": np.array([[0.5, -1.0], [2.0, 1.5]])})
    rng = np.random.default_rng(7)
    _check_matmul_once(module, {"g": rng.normal(size=(3, 4)).round(2), "x": rng.normal(size=(3, 2)).round(2),
                                "y": rng.normal(size=(2, 4)).round(2)})

    def case(draw):
        n, k, m = draw.int(1, 4), draw.int(1, 4), draw.int(1, 4)
        return {"g": draw.floats((n, m), -2, 2), "x": draw.floats((n, k), -3, 3), "y": draw.floats((k, m), -3, 3)}

    for_all(case, lambda inp: _check_matmul_once(module, inp))


MATMUL = Exercise(
    name="matmul_backward", title="the backward rule of a matrix product", lecture=LECTURE, minutes=15,
    task="Write matmul_backward(g, x, y): for z = x @ y with x of shape (n, k), y of shape (k, m),\n"
         "and g = ∂L/∂z of shape (n, m), return the pair (∂L/∂x, ∂L/∂y).",
    math="z_ij = Σ_p x_ip · y_pj   (a layer's pre-activation, W x in the lecture, is one)\n"
         "∂L/∂x_ip = Σ_j g_ij · y_pj   →   ∂L/∂x = g @ yᵀ   (shape (n, m) @ (m, k) = (n, k))\n"
         "∂L/∂y_pj = Σ_i x_ip · g_ij   →   ∂L/∂y = xᵀ @ g   (shape (k, n) @ (n, m) = (k, m))",
    hint="Let the shapes guide you: the gradient of x must have x's shape, and only one way of\n"
         "multiplying g with y (transposed or not) gives it. .T transposes a matrix.",
    code='''import numpy as np


def matmul_backward(g, x, y):
    """Return (gx, gy), the gradients of L for x (n, k) and y (k, m), where z = x @ y and
    g = ∂L/∂z has shape (n, m)."""
    raise NotImplementedError("matmul_backward: not done yet")
''',
    check=_check_matmul,
)


# ---------------------------------------------------------------------------------------
def _check_unbroadcast_once(module, inputs):
    fn = student_function(module, "unbroadcast")
    g, target = inputs["g"], inputs["shape"]
    want = np.asarray(tg.grad(lambda t: ((t + np.zeros(g.shape)) * g).sum())(np.zeros(target)).data)
    got = call(fn, g, target, inputs=inputs)
    lead = g.ndim - len(target)
    stretched = [i for i, n in enumerate(target) if n == 1 and g.shape[lead + i] != 1]
    kept = [n for i, n in enumerate(target) if i not in stretched]
    undone = "broadcasting not undone"
    mistakes = [
        Mistake(undone, g, f"You returned g unchanged, shape {g.shape}. Sum over the axes broadcasting added "
                           f"in front and over the size-1 axes it stretched, to get shape {target}."),
        Mistake(undone, g.sum(axis=tuple(range(lead))),
                "You summed the axes broadcasting added in front, but not the size-1 axes it stretched: "
                "sum those too, with keepdims=True."),
        Mistake(undone, want.reshape(kept),
                "You summed the stretched size-1 axes away; keep them with size 1 (keepdims=True)."),
        Mistake("averaged instead of summed", want * want.size / max(g.size, 1),
                "Each copy of an element sends its own gradient back, and the element gets their sum, "
                "not their mean."),
    ]
    expect_close(f"unbroadcast(g, {target})", got, want, inputs, mistakes)


def _check_unbroadcast(module):
    g = np.arange(24.0).reshape(2, 3, 4) / 10
    _check_unbroadcast_once(module, {"g": g, "shape": (3, 1)})
    _check_unbroadcast_once(module, {"g": g, "shape": (2, 3, 4)})

    def case(draw):
        target = tuple(draw.choice([1, 1, 2, 3]) for _ in range(draw.int(0, 3)))
        stretched = tuple(draw.int(2, 3) if n == 1 and draw.int(0, 1) else n for n in target)
        lead = tuple(draw.int(1, 3) for _ in range(draw.int(0, 2)))
        return {"g": draw.floats(lead + stretched, -2, 2), "shape": target}

    for_all(case, lambda inp: _check_unbroadcast_once(module, inp))


UNBROADCAST = Exercise(
    name="unbroadcast", title="undoing broadcasting", lecture=LECTURE, minutes=15,
    task="Write unbroadcast(g, shape): g is the gradient of a result that numpy broadcasting made\n"
         "from an input of shape `shape` (for example b in X @ W + b). Return the input's gradient:\n"
         "g summed back to `shape`.",
    math="broadcasting copies: y[i, j] = b[j] for every row i (b of shape (m,) used as (n, m))\n"
         "b[j] influences L through all its copies, so ∂L/∂b[j] = Σᵢ ∂L/∂y[i, j]\n"
         "numpy's rule: shapes are lined up from the right; missing axes are added in front,\n"
         "axes of size 1 are stretched. Undo both by summing over those axes.",
    hint="lead = g.ndim - len(shape) axes were added in front: sum them away. Then for each axis i\n"
         "with shape[i] == 1 but g.shape[i] != 1, sum with keepdims=True.",
    code='''import numpy as np


def unbroadcast(g, shape):
    """Return g summed over the axes broadcasting added or stretched, so it has shape `shape`."""
    raise NotImplementedError("unbroadcast: not done yet")
''',
    check=_check_unbroadcast,
)

EXERCISES = [SUM, MAX, MATMUL, UNBROADCAST]
