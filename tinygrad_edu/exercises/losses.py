"""Exercises: the losses of the lecture's models, in numpy (MSE, BCE with logits, cross-entropy).

The right values come from the engine's ``nn`` losses; the student's must agree, also at
logits of ±1000, where the textbook formulas overflow or take log 0.
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu import Tensor, nn

from .checks import (Exercise, Failure, Mistake, as_array, call, expect_close, for_all, no_overflow, show,
                     student_function)

LECTURE = {
    "mse_loss": "Overview (linear regression: p(y|x, w) = N(wᵀx, ε); its negative log-likelihood is the MSE "
                "up to a scale and a constant)",
    "bce_with_logits": "Overview (logistic regression: p(y|x, w) = Ber(y | σ(wᵀx)); its negative "
                       "log-likelihood is the binary cross-entropy)",
    "cross_entropy": "Part 1 (the classifier on top of the feature extractor: softmax over classes, "
                     "the categorical negative log-likelihood)",
}

UNSTABLE = {
    "mse_loss": "",
    "bce_with_logits": "σ(x) rounds to exactly 1 or 0 at |x| = 1000, and log 0 = −inf. Use the logits directly: "
                       "−[y log σ(x) + (1 − y) log(1 − σ(x))] = softplus(x) − x·y, with the stable "
                       "softplus(x) = max(x, 0) + log1p(exp(−|x|)).",
    "cross_entropy": "exp(1000) overflows. Subtract each row's maximum first: "
                     "log Σⱼ exp(xⱼ) = m + log Σⱼ exp(xⱼ − m) with m = maxⱼ xⱼ of that row.",
}


def _softplus(x):
    return np.logaddexp(0.0, x)


def _per_example(name, a, b):
    """The loss of each example (not averaged), the wrong variant 'forgot the mean'."""
    if name == "mse_loss":
        return (a - b) ** 2
    if name == "bce_with_logits":
        return _softplus(a) - a * b
    shifted = a - a.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(b)), b]


def _engine(name, a, b):
    loss = {"mse_loss": nn.mse_loss, "bce_with_logits": nn.binary_cross_entropy_with_logits,
            "cross_entropy": nn.cross_entropy}[name]
    return loss(Tensor(a), b).item()


def _variants(name, a, b, want):
    n = len(_per_example(name, a, b).reshape(-1))
    common = [Mistake("sign error", -want, "A negative log-likelihood is ≥ 0: check the minus sign."),
              Mistake("sum instead of mean", want * n,
                      "The loss is the mean over the examples: divide by their number."),
              Mistake("forgot the mean", _per_example(name, a, b), "Return one number: the mean of the losses.")]
    if name == "mse_loss":
        return common + [Mistake("squared the mean error", np.mean(a - b) ** 2,
                                 "Square each error first, then take the mean: mean((ŷ − y)²)."),
                         Mistake("absolute instead of squared error", np.mean(np.abs(a - b)), "Square the errors.")]
    if name == "bce_with_logits":
        return common + [Mistake("targets swapped (y and 1 − y)", np.mean(_softplus(a) - a * (1 - b)),
                                 "The term log σ(x) goes with y, the term log(1 − σ(x)) with 1 − y.")]
    shifted = a - a.max(axis=0, keepdims=True)
    log_p0 = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    return common + [Mistake("softmax over the wrong axis", -np.mean(log_p0[np.arange(len(b)), b]),
                             "Normalise each row (axis=1, the classes), not each column (the batch).")]


def check_loss(module, name, a, b):
    """The student's loss on (a, b) against the engine's; named wrong variants; no overflow."""
    fn = student_function(module, name)
    inputs = {"logits" if name != "mse_loss" else "pred": a, "labels" if name == "cross_entropy" else "target": b}
    want = _engine(name, a, b)
    try:
        with no_overflow():
            got = call(fn, a, b, inputs=inputs)
    except FloatingPointError as e:
        raise Failure(f"unstable {name}: numpy reported {e}\n  with\n{show(inputs)}\n  {UNSTABLE[name]}",
                      f"unstable {name}") from None
    got = as_array(f"{name}()", got)
    if got.size == 1:
        got = got.reshape(())
    if got.shape == () and not np.isfinite(got) and np.isfinite(want):
        raise Failure(f"unstable {name}: the loss came out {got} (expected {want:.8g})\n  with\n{show(inputs)}"
                      f"\n  {UNSTABLE[name]}", f"unstable {name}")
    expect_close(f"{name}()", got, want, inputs, _variants(name, a, b, want), rtol=1e-8, atol=1e-10)


def _check(name, fixed, big, case):
    def check(module):
        for a, b in (fixed, big):
            check_loss(module, name, a, b)
        for_all(case, lambda ab: check_loss(module, name, *ab))
    return check


def _scaled(draw, shape_):
    return draw.floats(shape_, -1.0, 1.0) * draw.choice([1.0, 5.0, 30.0, 1000.0])


def _mse_case(draw):
    s = (draw.int(1, 5),) if draw.int(0, 1) else (draw.int(1, 3), draw.int(1, 3))
    return draw.floats(s, -5, 5), draw.floats(s, -5, 5)


def _bce_case(draw):
    s = (draw.int(1, 5),)
    return _scaled(draw, s), draw.floats(s, 0.0, 1.0)


def _ce_case(draw):
    n, classes = draw.int(1, 4), draw.int(2, 4)
    return _scaled(draw, (n, classes)), draw.ints((n,), 0, classes - 1)


def _exercise(name, title, minutes, signature, math, hint, fixed, big, case):
    return Exercise(
        name=name, title=title, lecture=LECTURE[name], minutes=minutes,
        task=f"Write {signature} in numpy: return one number, the mean over the examples. It must\n"
             "agree with the engine's loss (tinygrad_edu.nn) and stay finite, with no overflow\n"
             "warning, for inputs of ±1000.",
        math=math, hint=hint,
        code=f'''import numpy as np


def {signature}:
    """Return {title}, a single number (the mean over the examples)."""
    raise NotImplementedError("{name}: not done yet")
''',
        check=_check(name, fixed, big, case),
    )


MSE = _exercise(
    "mse_loss", "the mean squared error", 5, "mse_loss(pred, target)",
    "MSE = (1/n) Σᵢ (ŷᵢ − yᵢ)²\n"
    "Linear regression's likelihood N(y; wᵀx, ε) gives −log p = n/(2ε)·MSE + n/2·log(2πε):\n"
    "the same minimiser as the MSE.",
    "np.mean works on arrays of any shape.",
    (np.array([0.5, 2.0, -1.0, 3.0]), np.array([1.0, 0.0, -1.0, 2.5])),
    (np.array([1000.0, -1000.0]), np.array([-1000.0, 1000.0])), _mse_case)

BCE = _exercise(
    "bce_with_logits", "the binary cross-entropy of σ(logits) against targets in [0, 1]", 15,
    "bce_with_logits(logits, target)",
    "p = σ(x) = 1/(1 + e⁻ˣ) for the logit x = wᵀx + b;  per example\n"
    "−[y log p + (1 − y) log(1 − p)] = softplus(x) − x·y   (because log σ(x) = −softplus(−x))\n"
    "softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^(−|x|)): no overflow, no log 0.",
    "np.log1p(z) is log(1 + z), accurate for small z. Average over the examples.",
    (np.array([-3.0, 0.5, 4.0, -1.0]), np.array([0.0, 1.0, 1.0, 0.25])),
    (np.array([1000.0, -1000.0, 1000.0, -1000.0]), np.array([1.0, 0.0, 0.0, 1.0])), _bce_case)

CE = _exercise(
    "cross_entropy", "the softmax cross-entropy with integer class labels", 15,
    "cross_entropy(logits, labels)",
    "logits x of shape (n, classes), labels of shape (n,) with integers in [0, classes)\n"
    "softmax(x)_c = exp(x_c) / Σⱼ exp(xⱼ);  per example  −log softmax(x)_label = logsumexp(x) − x_label\n"
    "logsumexp(x) = m + log Σⱼ exp(xⱼ − m) with m = maxⱼ xⱼ: exponents ≤ 0, no overflow.",
    "Work row by row with axis=1 and keepdims=True. logits[np.arange(n), labels] picks each\n"
    "row's logit of its label.",
    (np.array([[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0], [2.5, 0.5, -0.5, 0.0]]), np.array([0, 3, 1])),
    (np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]]), np.array([0, 2])), _ce_case)

EXERCISES = [MSE, BCE, CE]
