"""Optimisers: they move each parameter against its gradient, after ``loss.backward()``.

    opt = optim.SGD(model.parameters(), lr=0.1)
    for step in range(100):
        loss = nn.mse_loss(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

The updates are PyTorch's, operation for operation, so the same model, data and
hyper-parameters follow the same trajectory. They work on the numpy arrays (``p.data``)
in place, outside any graph: an update is not part of the model's computation.
Hyper-parameters are kept as Python floats, which numpy treats as "weak" scalars, so a
float32 model stays float32.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .tensor import Tensor


def hyperparameter(name, value, where, lo=0.0, hi=math.inf, hi_open=False):
    """Check a hyper-parameter: a real number in [lo, hi] (or [lo, hi)); return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (lo <= value < hi if hi_open else lo <= value <= hi):
        raise ValueError(f"{where}: {name} must be in [{lo:g}, {hi:g}{')' if hi_open else ']'}, got {value!r}")
    return value


class Optimizer:
    """What every optimiser shares: the parameter list and ``zero_grad``."""

    def __init__(self, params, lr):
        where = type(self).__name__
        if isinstance(params, Tensor) or not hasattr(params, "__iter__") or hasattr(params, "named_parameters"):
            raise TypeError(
                f"{where}: params must be a list of tensors, e.g. model.parameters(), got {type(params).__name__}"
            )
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{where}: got an empty list of parameters, so there is nothing to optimise")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{where}: parameter {i} has dtype {p.dtype}; only float tensors can be optimised")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{where}: a parameter appears twice in the list; it would be updated twice per step")
        self.lr = hyperparameter("lr", lr, where)

    def zero_grad(self):
        """Forget the gradients (set them to None), so the next ``backward()`` starts afresh."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and (L2) weight decay:

        d = g + weight_decay · p
        b = momentum · b + d        (b = d on the first step)
        p = p − lr · b              (p = p − lr · d without momentum)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = hyperparameter("momentum", momentum, "SGD")
        self.weight_decay = hyperparameter("weight_decay", weight_decay, "SGD")
        self.buffers = [None] * len(self.params)  # momentum buffers, made on first use

    def step(self):
        lr, momentum, wd = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            if p.grad is None:  # not reached by backward(): leave it alone
                continue
            d = p.grad.data
            if wd:
                d = d + wd * p.data
            if momentum:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = np.array(d, copy=True)
                else:
                    buf *= momentum
                    buf += d
                d = buf
            p.data -= lr * d
            p.version += 1  # saved copies of p in a recorded graph are now stale


class Adam(Optimizer):
    """Adam (with L2 weight decay added to the gradient, as PyTorch's Adam; not AdamW):

        g = g + weight_decay · p
        m = β₁ m + (1 − β₁) g                  running mean of g
        v = β₂ v + (1 − β₂) g²                 running mean of g²
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   bias correction (m and v start at 0)
        p = p − lr · m̂ / (√v̂ + eps)

    t counts the steps in which this parameter had a gradient. The last line is computed
    as PyTorch does: p −= (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1 = hyperparameter("betas[0]", betas[0], "Adam", hi=1.0, hi_open=True)
        self.beta2 = hyperparameter("betas[1]", betas[1], "Adam", hi=1.0, hi_open=True)
        self.eps = hyperparameter("eps", eps, "Adam")
        self.weight_decay = hyperparameter("weight_decay", weight_decay, "Adam")
        n = len(self.params)
        self.m, self.v, self.t = [None] * n, [None] * n, [0] * n  # per-parameter state

    def step(self):
        lr, b1, b2, eps, wd = self.lr, self.beta1, self.beta2, self.eps, self.weight_decay
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if wd:
                g = g + wd * p.data
            if self.m[i] is None:
                self.m[i], self.v[i] = np.zeros_like(p.data), np.zeros_like(p.data)
            m, v = self.m[i], self.v[i]
            self.t[i] = t = self.t[i] + 1
            m += (g - m) * (1.0 - b1)  # = β₁m + (1 − β₁)g, written as PyTorch's lerp
            v *= b2
            v += (1.0 - b2) * g * g
            step_size = lr / (1.0 - b1**t)
            denom = np.sqrt(v)
            denom /= math.sqrt(1.0 - b2**t)
            denom += eps
            p.data -= step_size * (m / denom)
            p.version += 1  # saved copies of p in a recorded graph are now stale

from .optim_more import RMSprop, AdamW, StepLR, CosineAnnealingLR  # noqa: E402,F401  (issue 14)
