"""Initialisers, with PyTorch's formulas (``torch.nn.init``), in place on a parameter.

Why the scale matters: a layer with fan_in inputs of variance 1 and weights of variance σ²
gives outputs of variance fan_in·σ². Keeping that near 1 through many layers keeps the
signal (and the gradients) from vanishing or exploding:

* Xavier/Glorot:  σ² = gain² · 2/(fan_in + fan_out)   (for tanh or linear layers)
* Kaiming/He:     σ² = gain² / fan                    (gain² = 2 for ReLU, which zeroes half)

A uniform distribution on ±b has variance b²/3, so the uniform variants use b = √3·σ.
The defaults of the layers, as PyTorch chooses them: Linear and Conv2d use
``kaiming_uniform_(a=√5)``, which is uniform on ±1/√fan_in, and their bias uniform on
±1/√fan_in; Embedding uses a standard normal; LayerNorm and BatchNorm1d ones and zeros.
The numbers come from ``tg.manual_seed``'s generator, not from PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np

from . import random as _random
from .tensor import Tensor

GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "sigmoid": 1.0, "identity": 1.0,
         "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The factor by which an activation shrinks the standard deviation, inverted (PyTorch's)."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; valid: "
                         f"{sorted(GAINS) + ['leaky_relu']}")
    return GAINS[nonlinearity]


def fans(t, where):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(t).__name__}")
    if t.ndim < 2:
        raise ValueError(f"{where}: fan in and fan out need at least 2 dimensions, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def fill(t, values):
    """Write ``values`` into the tensor's array in place (bumping its version), return t."""
    t.data[...] = values
    t.version += 1
    return t


def uniform_(t, a=0.0, b=1.0):
    """Fill with draws from the uniform distribution on [a, b)."""
    return fill(t, _random.generator().uniform(a, b, size=t.shape))


def normal_(t, mean=0.0, std=1.0):
    """Fill with draws from the normal distribution N(mean, std²)."""
    return fill(t, _random.generator().normal(mean, std, size=t.shape))


def zeros_(t):
    """Fill with 0."""
    return fill(t, 0.0)


def ones_(t):
    """Fill with 1."""
    return fill(t, 1.0)


def xavier_uniform_(t, gain=1.0):
    """Uniform on ±gain·√(6/(fan_in + fan_out)) (variance gain²·2/(fan_in + fan_out))."""
    fan_in, fan_out = fans(t, "xavier_uniform_")
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t, gain=1.0):
    """Normal with std gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = fans(t, "xavier_normal_")
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_std(t, a, mode, nonlinearity, where):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(t, where)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """Uniform on ±√3·gain/√fan (He et al.); a is the negative slope of leaky_relu."""
    bound = math.sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(t, -bound, bound)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """Normal with std gain/√fan (He et al.)."""
    return normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_"))
