"""Exercises: one step of SGD with momentum and of Adam (numpy), and the lecture's XOR weights.

The optimiser steps are compared, step after step, with the engine's ``optim.SGD`` and
``optim.Adam`` (PyTorch's update rules) fed the same gradients; the XOR weights are run
through the engine's ``w2·ReLU(W1 x + c) + b`` on the four points.
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu import Tensor, optim

from .checks import (Exercise, Failure, Mistake, as_array, call, expect_close, fmt, for_all, shape, show,
                     student_function, unpack)


def _engine_path(opt_class, p0, grads, **hyper):
    """The parameter after each step of the engine's optimiser, fed the given gradients."""
    param = Tensor(p0.copy(), requires_grad=True)
    opt, path = opt_class([param], **hyper), []
    for g in grads:
        param.grad = Tensor(g.copy())
        opt.step()
        path.append(param.data.copy())
    return path


def _variant_path(step, p0, grads, state):
    """The parameter after each step of a numpy update rule ``step(p, g, state, t) -> p, state``."""
    p, path = p0.copy(), []
    for t, g in enumerate(grads, start=1):
        p, state = step(p, g, state, t)
        path.append(p)
    return path


def _check_steps(module, name, inputs, want_path, variants, student_step):
    """Run the student's step on the gradients one after another, comparing each result."""
    fn = student_function(module, name)
    p0, grads = inputs["p (start)"], inputs["gradients"]
    paths = {label: _variant_path(rule, p0, grads, start) for label, (rule, start, _) in variants.items()}
    p, state = p0.copy(), None
    for k, g in enumerate(grads):
        p, state = student_step(fn, p, g, state, k + 1, inputs)
        shown = {("g, one row per step" if key == "gradients" else key): value for key, value in inputs.items()}
        shown["g, one row per step"] = np.array(grads[: k + 1])
        mistakes = [Mistake(label, paths[label][k], advice) for label, (_, _, advice) in variants.items()]
        expect_close(f"the parameter after step {k + 1}", p, want_path[k], shown, mistakes, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------
def _sgd_variants(lr, mu):
    def rule(damp=1.0, sign=-1.0, use_buf=True):
        def step(p, g, buf, t):
            buf = g.copy() if buf is None else mu * buf + damp * g
            return p + sign * lr * (buf if use_buf else g), buf
        return step
    return {
        "sign error": (rule(sign=1.0), None, "Step against the gradient: p − lr·buf."),
        "momentum not used": (rule(use_buf=False), None, "The update uses the buffer: p − lr·buf, not p − lr·g."),
        "buffer damped by (1 − momentum)": (rule(damp=1 - mu), None,
                                            "PyTorch's SGD adds g undamped: buf = momentum·buf + g."),
    }


def _sgd_student(fn, p, g, buf, t, inputs):
    out = call(fn, p, g, buf, inputs["lr"], inputs["momentum"], inputs=dict(inputs, p=p, g=g, buf=buf))
    p, buf = unpack("sgd_momentum_step()", out, 2)
    return as_array("the new parameter", p), (None if buf is None else as_array("the new buffer", buf))


def _check_sgd_once(module, inputs):
    lr, momentum = inputs["lr"], inputs["momentum"]
    want = _engine_path(optim.SGD, inputs["p (start)"], inputs["gradients"], lr=lr, momentum=momentum)
    _check_steps(module, "sgd_momentum_step", inputs, want, _sgd_variants(lr, momentum), _sgd_student)


def _steps_case(draw, hyper):
    s = shape(draw, max_dims=2)
    return {"p (start)": draw.floats(s, -3, 3), "gradients": [draw.floats(s, -2, 2) for _ in range(draw.int(1, 4))],
            **{k: draw.choice(v) for k, v in hyper.items()}}


def _check_sgd(module):
    grads = [np.array([0.5, -1.0]), np.array([0.3, 0.2]), np.array([-0.4, 0.8]), np.array([1.0, 1.0])]
    _check_sgd_once(module, {"p (start)": np.array([1.0, -2.0]), "gradients": grads, "lr": 0.1, "momentum": 0.9})
    for_all(lambda d: _steps_case(d, {"lr": [0.01, 0.1, 0.5], "momentum": [0.0, 0.5, 0.9]}),
            lambda inputs: _check_sgd_once(module, inputs))


SGD = Exercise(
    name="sgd_momentum_step", title="one step of SGD with momentum (PyTorch's rule)", minutes=10,
    lecture="training the network: gradient descent on the loss (the tutorial's sections 5 and 6)",
    task="Write sgd_momentum_step(p, g, buf, lr, momentum): one update of the parameter array p with\n"
         "its gradient g. buf is the momentum buffer returned by the previous step, None on the first.\n"
         "Return (new_p, new_buf). The grader runs your step several times against the engine's\n"
         "optim.SGD, which follows PyTorch.",
    math="first step:   buf = g\n"
         "later steps:  buf = momentum · buf + g\n"
         "update:       p = p − lr · buf\n"
         "(momentum = 0 is plain gradient descent: p = p − lr · g)",
    hint="Do not change the arrays you are given in place; return new ones.",
    code='''import numpy as np


def sgd_momentum_step(p, g, buf, lr, momentum):
    """Return (new_p, new_buf) after one SGD-with-momentum step; buf is None on the first step."""
    raise NotImplementedError("sgd_momentum_step: not done yet")
''',
    check=_check_sgd,
)


# ---------------------------------------------------------------------------------------
def _adam_variants(lr, betas, eps):
    b1, b2 = betas

    def rule(correct=True, sign=-1.0, root=True):
        def step(p, g, state, t):
            m, v = state if state is not None else (np.zeros_like(p), np.zeros_like(p))
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
            return p + sign * lr * m_hat / ((np.sqrt(v_hat) if root else v_hat) + eps), (m, v)
        return step
    return {
        "bias correction missing": (rule(correct=False), None,
                                    "m and v start at 0, so early on they are too small: divide by (1 − β₁ᵗ) "
                                    "and (1 − β₂ᵗ), with t the step number (1 on the first step)."),
        "sign error": (rule(sign=1.0), None, "Step against the gradient: p − lr·m̂/(√v̂ + eps)."),
        "square root missing": (rule(root=False), None, "Divide by √v̂ + eps, not v̂ + eps."),
    }


def _adam_student(fn, p, g, state, t, inputs):
    m, v = state if state is not None else (np.zeros_like(p), np.zeros_like(p))
    args = (p, g, m, v, t, inputs["lr"], inputs["betas"], inputs["eps"])
    out = call(fn, *args, inputs=dict(inputs, p=p, g=g, m=m, v=v, t=t))
    p, m, v = unpack("adam_step()", out, 3)
    return as_array("the new parameter", p), (as_array("the new m", m), as_array("the new v", v))


def _check_adam_once(module, inputs):
    want = _engine_path(optim.Adam, inputs["p (start)"], inputs["gradients"], lr=inputs["lr"],
                        betas=inputs["betas"], eps=inputs["eps"])
    variants = _adam_variants(inputs["lr"], inputs["betas"], inputs["eps"])
    _check_steps(module, "adam_step", inputs, want, variants, _adam_student)


def _check_adam(module):
    grads = [np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.2, -1.0]), np.array([-0.4, 0.8, 0.5])]
    _check_adam_once(module, {"p (start)": np.array([1.0, -2.0, 0.5]), "gradients": grads, "lr": 0.1,
                              "betas": (0.9, 0.999), "eps": 1e-8})
    for_all(lambda d: _steps_case(d, {"lr": [0.001, 0.01, 0.1], "betas": [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)],
                                      "eps": [1e-8, 1e-3]}),
            lambda inputs: _check_adam_once(module, inputs))


ADAM = Exercise(
    name="adam_step", title="one step of Adam (PyTorch's rule)", minutes=15,
    lecture="training the network: the optimiser the examples use (the tutorial's section 6)",
    task="Write adam_step(p, g, m, v, t, lr, betas, eps): one Adam update of the parameter array p\n"
         "with gradient g. m and v are the running means returned by the previous step (zeros\n"
         "before the first); t is the step number, 1 on the first step. Return (new_p, new_m, new_v).",
    math="m = β₁·m + (1 − β₁)·g          running mean of g\n"
         "v = β₂·v + (1 − β₂)·g²         running mean of g²\n"
         "m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)    bias correction: m and v start at 0\n"
         "p = p − lr · m̂ / (√v̂ + eps)",
    hint="betas is a pair: beta1, beta2 = betas. Return the new m and v (not the corrected m̂, v̂):\n"
         "the next step continues from them.",
    code='''import numpy as np


def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Return (new_p, new_m, new_v) after Adam's step number t (t = 1 on the first step)."""
    raise NotImplementedError("adam_step: not done yet")
''',
    check=_check_adam,
)


# ---------------------------------------------------------------------------------------
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])
SHAPES = {"W1": (2, 2), "c": (2,), "w2": (2,), "b": ()}


def xor_network(W1, c, w2, b):
    """The engine's ŷ = w2·ReLU(W1 x + c) + b on the four XOR points, with the hidden layer."""
    z = Tensor(XOR_X) @ Tensor(W1).T + Tensor(c)
    h = z.relu()
    return z.numpy(), h.numpy(), (h @ Tensor(w2) + Tensor(b)).numpy()


def _solves(weights):
    return np.allclose(xor_network(*weights)[2], XOR_Y, atol=1e-6)


def _check_xor(module):
    fn = student_function(module, "xor_weights")
    weights = unpack("xor_weights()", call(fn), 4)
    weights = [as_array(name, w) for name, w in zip(SHAPES, weights)]
    for (name, want), w in zip(SHAPES.items(), weights):
        if w.shape != want and not (want == () and w.size == 1):
            raise Failure(f"{name} must have shape {want}, yours has shape {w.shape} "
                          "(2 inputs, 2 hidden units, 1 output).")
    weights[3] = weights[3].reshape(())
    if _solves(weights):
        return
    z, h, y = xor_network(*weights)
    rows = [("x", "W1 x + c", "ReLU(W1 x + c)", "ŷ", "XOR")]
    rows += [(fmt(x), fmt(zz), fmt(hh), fmt(yy), f"{t:g}") for x, zz, hh, yy, t in zip(XOR_X, z, h, y, XOR_Y)]
    table = "\n".join(f"      {a:<10}  {b:<16}  {c:<16}  {d:>8}  {e:>3}" for a, b, c, d, e in rows)
    text = ("\n  with\n" + show(dict(zip(SHAPES, weights))) + "\n" + table)
    for k, (name, w) in enumerate(zip(SHAPES, weights)):  # would flipping one sign fix it?
        for i in np.ndindex(w.shape):
            flipped = [v.copy() for v in weights]
            flipped[k][i] *= -1
            if w[i] != 0 and _solves(flipped):
                at = f"{name}[{', '.join(map(str, i))}]" if i else name
                raise Failure(f"sign error: with {at} = {fmt(-w[i])} instead of {fmt(w[i])} your network "
                              f"computes XOR.{text}", "sign error")
    if _solves([weights[0].T, *weights[1:]]):
        raise Failure(f"W1 transposed: row j of W1 holds the weights of hidden unit j (h = ReLU(W1 x + c)).{text}",
                      "W1 transposed")
    if all(np.all(z[:, j] >= 0) or np.all(z[:, j] <= 0) for j in range(2)):  # ReLU is x or 0 there: linear
        raise Failure("the network is linear on the four points: each hidden unit is active at all four or at none, "
                      "so ReLU never bends anything and ŷ is a linear function of x, which cannot be XOR."
                      f"{text}\n  Choose c so that some unit is off (W1 x + c ≤ 0) at some points and on at others.",
                      "the network is linear on the four points")
    wrong = [i for i in range(4) if abs(y[i] - XOR_Y[i]) > 1e-6]
    raise Failure(f"ŷ is wrong at {len(wrong)} of the 4 points (x = {', '.join(fmt(XOR_X[i]) for i in wrong)}).{text}")


XOR = Exercise(
    name="xor_weights", title="weights for the XOR network", minutes=15,
    lecture="Part 1 (the XOR problem: a network with one ReLU hidden layer computes it)",
    task="Write xor_weights(): return (W1, c, w2, b) such that the network\n"
         "      ŷ = w2 · ReLU(W1 x + c) + b\n"
         "computes XOR on the four points (0, 0) → 0, (0, 1) → 1, (1, 0) → 1, (1, 1) → 0.\n"
         "W1 is 2×2 (row j: the weights of hidden unit j), c and w2 have 2 entries, b is a number.\n"
         "Any correct set of weights passes.",
    math="h = ReLU(W1 x + c) = max{0, W1 x + c}  (elementwise),   ŷ = w2ᵀ h + b\n"
         "Without the ReLU the network is ŷ = w2ᵀ(W1 x + c) + b, a linear function of x, and no\n"
         "linear function is 0, 1, 1, 0 on these points: the nonlinearity is what makes it work.",
    hint="Let both hidden units compute x₁ + x₂ (0, 1, 1 or 2), and shift one of them with c so that it\n"
         "is only positive when both inputs are 1. Then w2 combines the two. Try it on paper first.",
    code='''import numpy as np


def xor_weights():
    """Return (W1, c, w2, b) for which w2 · ReLU(W1 x + c) + b is XOR on the four points."""
    raise NotImplementedError("xor_weights: not done yet")
''',
    check=_check_xor,
)

EXERCISES = [SGD, ADAM]
