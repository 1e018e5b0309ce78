"""Exercises: ReLU, ELU and Softplus as composites of the engine's ops.

The student writes each with Tensor operations (``tg.where``, ``.exp()``, ``.log()``,
comparisons, ``.detach()``), so the engine differentiates it by the chain rule alone, as it
does its own composites. The grader checks the values against numpy, the slope at the kink
(the conventions relu'(0) = 0, elu'(0) = α), that nothing overflows at ±1000, and the
gradient against central differences (``tg.gradcheck``) on generated inputs.
"""
from __future__ import annotations

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .checks import (Exercise, Failure, Mistake, call, expect_close, fmt, for_all, no_overflow, nonzero, shape,
                     show)

LECTURE = "Part 2 (a tour of activation functions: ReLU, ELU, Softplus)"

CODE = '''import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor

# Write it with Tensor operations only, so that the engine can differentiate it:
#   tg.where(cond, a, b)   x > 0 (a boolean tensor)   x.exp()   x.log()   + - * /   x.detach()
# Try it:
#   x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
#   y = {call}
#   y.sum().backward()
#   print(y, x.grad)
'''


def _numpy_elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _numpy_softplus(x):
    return np.logaddexp(0.0, x)


ACTIVATIONS = {  # name → (numpy reference f(x, alpha), the slope at 0 by convention as a function of alpha)
    "relu": (lambda x, a: np.maximum(x, 0.0), lambda a: 0.0),
    "elu": (_numpy_elu, lambda a: a),
    "softplus": (lambda x, a: _numpy_softplus(x), lambda a: 0.5),
}

UNSTABLE_ADVICE = {
    "relu": "Select with tg.where instead of computing with exp.",
    "elu": "exp(x) is computed for every x, also where the other branch is selected: at x = 1000 it "
           "overflows (and its gradient there is 0·inf = nan). Take exp only of tg.where(x > 0, 0.0, x).",
    "softplus": "log(1 + eˣ) overflows for large x (and log(eˣ + ...) with large −x for negative x). Subtract "
                "m = max(x, 0), detached, inside: softplus(x) = m + log(e^(−m) + e^(x−m)); every exponent "
                "is ≤ 0.",
}


def _apply(fn, name, x, alpha):
    """The student's activation of the array x (as a Tensor that requires grad); its output."""
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    args = (t,) if name != "elu" else (t, alpha)
    out = call(fn, *args, inputs={"x": x} if name != "elu" else {"x": x, "alpha": alpha})
    if not isinstance(out, Tensor):
        raise Failure(f"{name}() must return a Tensor built with Tensor operations; it returned a "
                      f"{type(out).__name__}. A numpy result has no graph, so the engine cannot differentiate it.",
                      "no graph")
    if not out.requires_grad:
        raise Failure(f"{name}(x) is not connected to x: it has no graph. Did you compute on x.data, with "
                      "numpy, or detach x itself? Only constants (such as softplus's m) may be detached.", "no graph")
    return t, out


def _slope(fn, name, x, alpha):
    t, out = _apply(fn, name, x, alpha)
    if out.shape != t.shape:
        raise Failure(f"{name}(x) has shape {out.shape}, but x has shape {t.shape}: it works elementwise.")
    call(lambda: out.sum().backward(), name=f"{name}(x).sum().backward")
    return out.data, (np.zeros_like(t.data) if t.grad is None else np.asarray(t.grad.data))


def check_activation(module, name):
    """Values, stability at ±1000, the gradient on generated inputs, and the kink, in that order."""
    fn = getattr(module, name, None)
    if not callable(fn):
        raise Failure(f"your file has no function called {name}(): keep the name and arguments of the stub.")
    alphas = (2.0, 1.0) if name == "elu" else (None,)
    for alpha in alphas:
        _check_values(fn, name, alpha)
    for alpha in alphas:
        _check_stable(fn, name, alpha)

    def case(draw):  # away from the kink, where the derivative is a convention, not a limit
        s = shape(draw, max_dims=2)
        x = nonzero(draw, s, 0.05, 5.0) if name != "softplus" else draw.floats(s, -20.0, 20.0)
        return {"x": x, "alpha": draw.choice([0.5, 1.0, 2.0])} if name == "elu" else {"x": x}

    for_all(case, lambda inputs: _check_case(fn, name, inputs))
    for alpha in alphas:
        _check_kink(fn, name, alpha)


def _check_values(fn, name, alpha):
    reference = ACTIVATIONS[name][0]
    x = np.array([-3.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    inputs = {"x": x} if alpha is None else {"x": x, "alpha": alpha}
    got, _ = _slope(fn, name, x, alpha)
    mistakes = [Mistake("sign error", reference(-x, alpha), f"Your values are {name}(−x): check the signs."),
                Mistake("sign error", -reference(x, alpha), f"Your values are −{name}(x): check the signs.")]
    if alpha not in (None, 1.0):
        mistakes.append(Mistake("alpha ignored", reference(x, 1.0), "Use the argument alpha, not 1."))
    expect_close(f"{name}(x)", got, reference(x, alpha), inputs, mistakes)


def _check_stable(fn, name, alpha):
    reference = ACTIVATIONS[name][0]
    for big in (1000.0, -1000.0):
        try:
            with no_overflow():
                value, slope = _slope(fn, name, np.array([big]), alpha)
        except FloatingPointError as e:
            raise Failure(f"unstable {name}: at x = {big:g} numpy reported {e}.\n  {UNSTABLE_ADVICE[name]}",
                          f"unstable {name}") from None
        want_value, want_slope = reference(np.array([big]), alpha), np.array([1.0 if big > 0 else 0.0])
        if not (np.all(np.isfinite(value)) and np.all(np.isfinite(slope))):
            raise Failure(f"unstable {name}: at x = {big:g} the value is {fmt(value)} and the slope "
                          f"{fmt(slope)} (expected {fmt(want_value)} and {fmt(want_slope)}).\n  "
                          f"{UNSTABLE_ADVICE[name]}", f"unstable {name}")
        expect_close(f"{name}({big:g})", value, want_value, {"x": big}, rtol=1e-12)
        expect_close(f"the slope of {name} at {big:g}", slope, want_slope, {"x": big}, rtol=1e-12)


def _check_kink(fn, name, alpha):
    _, slope = _slope(fn, name, np.array([0.0]), alpha)
    want = ACTIVATIONS[name][1](alpha)
    if not np.isclose(slope[0], want, rtol=1e-9, atol=1e-12):
        param = "" if alpha is None else f" with alpha = {alpha:g}"
        raise Failure(f"wrong slope at the kink: the slope of {name} at x = 0{param} is {fmt(slope[0])}, "
                      f"the convention is {fmt(want)}.\n  {KINK_ADVICE[name]}", "wrong slope at the kink")


KINK_ADVICE = {
    "relu": "Select with tg.where(x > 0, x, 0.0): at 0 it picks the constant branch, slope 0. "
            "maximum(x, 0) splits a tie and gives ½; x >= 0 gives 1.",
    "elu": "Select the exponential branch at 0 (condition x > 0, not x >= 0): its slope there is α·e⁰ = α.",
    "softplus": "Softplus has no kink: its slope at 0 is σ(0) = ½. Check what your select or maximum does at 0.",
}


def _check_case(fn, name, inputs):
    x, alpha = inputs["x"], inputs.get("alpha")
    reference, _ = ACTIVATIONS[name]
    value, _ = _slope(fn, name, x, alpha)
    expect_close(f"{name}(x)", value, reference(x, alpha), inputs)
    f = (lambda t: fn(t)) if alpha is None else (lambda t: fn(t, alpha))
    try:
        tg.gradcheck(f, x)
    except tg.GradcheckError as e:
        raise Failure(f"the gradient of your {name} (by backprop through your ops) disagrees with central "
                      f"differences: {e}\n  with\n{show(inputs)}\n  Is part of the path detached or "
                      "computed with numpy? Only constants (such as softplus's m) may be.", "gradient wrong") from None


def _exercise(name, title, minutes, math, hint, signature, call_text):
    return Exercise(
        name=name, title=title, lecture=LECTURE, minutes=minutes,
        task=f"Write {signature} with the engine's Tensor operations, so that backward() works\n"
             "through it. It must follow the conventions at the kink, and neither overflow nor warn\n"
             "at x = ±1000.",
        math=math, hint=hint,
        code=CODE.format(call=call_text) + f'''

def {signature}:
    """Return {title} of the Tensor x, elementwise, as a Tensor with a graph."""
    raise NotImplementedError("{name}: not done yet")
''',
        check=lambda module: check_activation(module, name),
    )


RELU = _exercise(
    "relu", "ReLU", 10,
    "ReLU(x) = max{0, x}: slope 1 for x > 0, 0 for x < 0.\n"
    "At the kink x = 0 the slope is a choice; the convention (PyTorch's, this engine's) is relu'(0) = 0.",
    "tg.where(cond, a, b) picks a where cond holds and b elsewhere; its gradient goes to the\n"
    "picked branch only. Which condition makes x = 0 pick the constant 0?",
    "relu(x)", "relu(x)")

ELU = _exercise(
    "elu", "ELU", 15,
    "ELU(x) = x if x ≥ 0, α(eˣ − 1) if x < 0   (the lecture's formula)\n"
    "slope: 1 for x > 0, α·eˣ for x < 0. At 0 the convention is elu'(0) = α (as in PyTorch).",
    "Two selects: one to build min(x, 0) without computing exp of a large x, one to choose\n"
    "between x and α·(exp(...) − 1). x > 0 returns a boolean tensor.",
    "elu(x, alpha=1.0)", "elu(x, alpha=2.0)")

SOFTPLUS = _exercise(
    "softplus", "Softplus", 15,
    "Softplus(x) = log(1 + eˣ), a smooth ReLU; its slope is the sigmoid σ(x) = 1/(1 + e⁻ˣ).\n"
    "For any constant m:  log(1 + eˣ) = m + log(e⁻ᵐ + eˣ⁻ᵐ).  With m = max(x, 0) every exponent\n"
    "is ≤ 0, so nothing overflows: softplus(1000) = 1000, softplus(−1000) = 0.",
    "m = tg.where(x > 0, x, 0.0).detach() is max(x, 0) as a constant (the result does not depend\n"
    "on m, so neither does the gradient). Then m + ((x - m).exp() + (-m).exp()).log().",
    "softplus(x)", "softplus(x)")

EXERCISES = [RELU, ELU, SOFTPLUS]
