"""Exercises: the backward rules of the elementwise primitives (mul, div, pow, exp, log).

A backward rule is a vector-Jacobian product: given g = ∂L/∂z for the op's output z and the
op's inputs, it returns ∂L/∂input for each input. The right answer comes from the engine
itself (``tg.grad`` of Σ g·op(inputs)); the known wrong variants are computed on the same
inputs, so a wrong answer that equals one of them is named.
"""
from __future__ import annotations

import numpy as np

import tinygrad_edu as tg

from .checks import Exercise, Mistake, call, expect_close, for_all, nonzero, shape, student_function, unpack

LECTURE = ("Overview and part 1 (a feature extractor with trainable parameters, hidden layers): "
           "training them needs ∂loss/∂weight, which backprop builds from rules like this one")


def engine_gradients(op, g, args, n):
    """The engine's gradients of Σ g·op(args) with respect to the first ``n`` args."""
    argnums = tuple(range(n))
    grads = tg.grad(lambda *ts: (op(*ts) * g).sum(), argnums=argnums)(*args)
    return [np.asarray(t.data, dtype=np.float64) for t in grads]


def check_rule(module, name, op, inputs, n, extra_mistakes=lambda inputs: {}):
    """Check the student's rule ``name`` on one set of ``inputs`` (a dict whose first entry
    is g, then the op's arguments); ``n`` of the arguments get gradients."""
    fn = student_function(module, name)
    g, *args = inputs.values()
    want = engine_gradients(op, g, args, n)
    no_chain = engine_gradients(op, np.ones_like(g), args, n)
    got = call(fn, *inputs.values(), inputs=inputs)
    if n > 1:
        got = unpack(f"{name}()", got, n)  # one gradient per input
    elif not (isinstance(got, (tuple, list)) and len(got) == 1):
        got = (got,)  # a single gradient (a 1-tuple is accepted too)
    extra = extra_mistakes(inputs)
    names = list(inputs)[1:]
    for i in range(n):
        mistakes = [
            Mistake("forgot the chain rule (did not multiply by g)", no_chain[i],
                    "Your answer is the local derivative ∂z/∂input alone; multiply it by g = ∂L/∂z."),
            Mistake("sign error", -want[i],
                    "Your answer is the right one times −1: check the sign of your derivative."),
            *extra.get(i, []),
        ]
        expect_close(f"the gradient for {names[i]}", got[i], want[i], inputs, mistakes)


def _g(draw, shape_):
    return draw.floats(shape_, -2.0, 2.0)


# ---------------------------------------------------------------------------------------
def _check_mul(module):
    op = lambda x, y: x * y  # noqa: E731
    swapped = lambda inp: {0: [Mistake("gradients swapped", inp["g"] * inp["x"],  # noqa: E731
                                       "∂(x·y)/∂x is y, the *other* input: gx = g·y.")],
                           1: [Mistake("gradients swapped", inp["g"] * inp["y"], "∂(x·y)/∂y is x: gy = g·x.")]}
    fixed = {"g": np.array([0.7, -1.3, 2.0]), "x": np.array([1.5, -2.0, 0.5]), "y": np.array([-0.5, 3.0, 2.0])}
    check_rule(module, "mul_backward", op, fixed, 2, swapped)

    def case(draw):
        s = shape(draw)
        return {"g": _g(draw, s), "x": draw.floats(s, -3, 3), "y": draw.floats(s, -3, 3)}

    for_all(case, lambda inp: check_rule(module, "mul_backward", op, inp, 2, swapped))


MUL = Exercise(
    name="mul_backward", title="the backward rule of multiplication", lecture=LECTURE, minutes=5,
    task="Write mul_backward(g, x, y): for z = x * y (elementwise, x and y of the same shape) and\n"
         "the upstream gradient g = ∂L/∂z, return the pair (∂L/∂x, ∂L/∂y).",
    math="z = x·y,   ∂z/∂x = y,   ∂z/∂y = x\n"
         "chain rule, element by element:  ∂L/∂x = ∂L/∂z · ∂z/∂x = g·y,   ∂L/∂y = g·x",
    hint="Each input's gradient is g times the *other* input. Both answers have the shape of x.",
    code='''import numpy as np


def mul_backward(g, x, y):
    """Return (gx, gy), the gradients of L for x and y, where z = x * y and g = ∂L/∂z."""
    raise NotImplementedError("mul_backward: not done yet")
''',
    check=_check_mul,
)


# ---------------------------------------------------------------------------------------
def _check_div(module):
    op = lambda x, y: x / y  # noqa: E731
    extra = lambda inp: {1: [Mistake("factor x missing", -inp["g"] / inp["y"] ** 2,  # noqa: E731
                                     "∂(x/y)/∂y = −x/y²: the x belongs in it.")]}
    fixed = {"g": np.array([0.7, -1.3, 2.0]), "x": np.array([1.5, -2.0, 0.5]), "y": np.array([-0.5, 3.0, 2.0])}
    check_rule(module, "div_backward", op, fixed, 2, extra)

    def case(draw):
        s = shape(draw)
        return {"g": _g(draw, s), "x": draw.floats(s, -3, 3), "y": nonzero(draw, s)}

    for_all(case, lambda inp: check_rule(module, "div_backward", op, inp, 2, extra))


DIV = Exercise(
    name="div_backward", title="the backward rule of division", lecture=LECTURE, minutes=5,
    task="Write div_backward(g, x, y): for z = x / y (elementwise) and g = ∂L/∂z, return the pair\n"
         "(∂L/∂x, ∂L/∂y).",
    math="z = x / y = x·y⁻¹,   ∂z/∂x = 1/y,   ∂z/∂y = −x/y²  (= −z/y)\n"
         "∂L/∂x = g / y,   ∂L/∂y = −g·x / y²",
    hint="Differentiate x·y⁻¹ with respect to y: the power rule gives −x·y⁻². Mind the minus sign.",
    code='''import numpy as np


def div_backward(g, x, y):
    """Return (gx, gy), the gradients of L for x and y, where z = x / y and g = ∂L/∂z."""
    raise NotImplementedError("div_backward: not done yet")
''',
    check=_check_div,
)


# ---------------------------------------------------------------------------------------
def _check_pow(module):
    def run(inp):
        x, p = inp["x"], inp["p"]
        extra = lambda i: {0: [  # noqa: E731
            Mistake("factor p missing", i["g"] * x ** (p - 1),
                    "The power rule brings the exponent down: p·xᵖ⁻¹."),
            Mistake("exponent not lowered by one", i["g"] * p * x ** p,
                    "The derivative of xᵖ is p·xᵖ⁻¹, not p·xᵖ."),
        ]}
        check_rule(module, "pow_backward", lambda t, q: t ** q, inp, 1, extra)

    run({"g": np.array([0.7, -1.3, 2.0]), "x": np.array([1.5, 2.0, 0.5]), "p": 3.0})

    def case(draw):
        s = shape(draw)
        return {"g": _g(draw, s), "x": draw.floats(s, 0.5, 3.0), "p": draw.choice([-2.0, -0.5, 0.5, 1.5, 2.0, 3.0])}

    for_all(case, run)


POW = Exercise(
    name="pow_backward", title="the backward rule of a power with a constant exponent", lecture=LECTURE, minutes=5,
    task="Write pow_backward(g, x, p): for z = x ** p (elementwise, p a number, x > 0) and\n"
         "g = ∂L/∂z, return ∂L/∂x (one array, the shape of x).",
    math="z = xᵖ,   ∂z/∂x = p·xᵖ⁻¹   (the power rule)\n"
         "∂L/∂x = g · p · xᵖ⁻¹",
    hint="numpy's ** works elementwise on arrays: x ** (p - 1).",
    code='''import numpy as np


def pow_backward(g, x, p):
    """Return gx, the gradient of L for x, where z = x ** p (p a number) and g = ∂L/∂z."""
    raise NotImplementedError("pow_backward: not done yet")
''',
    check=_check_pow,
)


# ---------------------------------------------------------------------------------------
def _check_exp(module):
    op = lambda x: x.exp()  # noqa: E731
    check_rule(module, "exp_backward", op, {"g": np.array([0.7, -1.3, 2.0]), "x": np.array([1.5, -2.0, 0.5])}, 1)
    for_all(lambda d: (lambda s: {"g": _g(d, s), "x": d.floats(s, -3, 3)})(shape(d)),
            lambda inp: check_rule(module, "exp_backward", op, inp, 1))


EXP = Exercise(
    name="exp_backward", title="the backward rule of the exponential", lecture=LECTURE, minutes=5,
    task="Write exp_backward(g, x): for z = exp(x) (elementwise) and g = ∂L/∂z, return ∂L/∂x.",
    math="z = eˣ,   ∂z/∂x = eˣ = z   (eˣ is its own derivative)\n"
         "∂L/∂x = g · eˣ",
    hint="np.exp(x). The engine's rule reuses the output z instead of computing eˣ again.",
    code='''import numpy as np


def exp_backward(g, x):
    """Return gx, the gradient of L for x, where z = exp(x) and g = ∂L/∂z."""
    raise NotImplementedError("exp_backward: not done yet")
''',
    check=_check_exp,
)


# ---------------------------------------------------------------------------------------
def _check_log(module):
    op = lambda x: x.log()  # noqa: E731
    check_rule(module, "log_backward", op, {"g": np.array([0.7, -1.3, 2.0]), "x": np.array([1.5, 4.0, 0.5])}, 1)
    for_all(lambda d: (lambda s: {"g": _g(d, s), "x": d.floats(s, 0.2, 5.0)})(shape(d)),
            lambda inp: check_rule(module, "log_backward", op, inp, 1))


LOG = Exercise(
    name="log_backward", title="the backward rule of the natural logarithm", lecture=LECTURE, minutes=5,
    task="Write log_backward(g, x): for z = log(x) (elementwise, x > 0) and g = ∂L/∂z, return ∂L/∂x.",
    math="z = log x,   ∂z/∂x = 1/x\n"
         "∂L/∂x = g / x",
    hint="One line. (The logarithm appears in every likelihood of the lecture: −log p.)",
    code='''import numpy as np


def log_backward(g, x):
    """Return gx, the gradient of L for x, where z = log(x) and g = ∂L/∂z."""
    raise NotImplementedError("log_backward: not done yet")
''',
    check=_check_log,
)

EXERCISES = [MUL, DIV, POW, EXP, LOG]
