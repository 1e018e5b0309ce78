"""Small 2-D datasets for the lecture's examples (numpy only).

Every function returns ``(X, y)``: ``X`` a float64 array of shape (n, 2), one point per
row, and ``y`` its labels. With ``seed=None`` the random draws come from the engine's
generator (so ``tg.manual_seed`` fixes them); with an integer seed they depend on the
seed alone.
"""
from __future__ import annotations

import numpy as np

from . import random as _random


def _rng(seed):
    return _random.generator() if seed is None else np.random.default_rng(seed)


def _count(n, where):
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{where}: n must be a positive integer, got {n!r}")
    return int(n)


def xor():
    """The four XOR points and labels, in the order (0,0), (0,1), (1,0), (1,1):

    ``X`` float64 of shape (4, 2) and ``y`` float64 of shape (4,), equal to [0, 1, 1, 0]
    (floats, ready for ``mse_loss`` or ``binary_cross_entropy_with_logits``).
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    return X, y


def make_moons(n, noise=0.1, seed=None):
    """Two interleaving half circles: ``X`` float64 (n, 2), ``y`` int64 (n,) in {0, 1}.

    Class 0 lies on the upper half of the unit circle, (cos t, sin t) for t in [0, π];
    class 1 on the lower half circle (1 − cos t, 0.5 − sin t), shifted to interlock with
    it. ⌈n/2⌉ points are in class 0 and ⌊n/2⌋ in class 1, evenly spaced in t, then moved
    by Gaussian noise of standard deviation ``noise`` in each coordinate, then shuffled.
    """
    n = _count(n, "make_moons")
    if not noise >= 0:
        raise ValueError(f"make_moons: noise must be >= 0, got {noise!r}")
    rng = _rng(seed)
    n0 = n - n // 2
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n // 2)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n // 2, np.int64)])
    order = rng.permutation(n)
    return X[order], y[order]


def make_spirals(n, classes=3, seed=None, noise=0.2):
    """``classes`` spiral arms around the origin: ``X`` float64 (n, 2), ``y`` int64 (n,).

    Arm k holds n // classes points (the first n % classes arms one more each), at radii
    r evenly spaced in [0, 1] and angles θ = 2πk/classes + 4r + noise·N(0, 1), i.e. the
    point r(sin θ, cos θ). So every arm turns by 4 radians from the centre outwards, and
    ``noise`` is the standard deviation of the angle, in radians. Points are shuffled.
    """
    n = _count(n, "make_spirals")
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 1:
        raise ValueError(f"make_spirals: classes must be a positive integer, got {classes!r}")
    if not noise >= 0:
        raise ValueError(f"make_spirals: noise must be >= 0, got {noise!r}")
    rng = _rng(seed)
    y = np.repeat(np.arange(classes, dtype=np.int64), [n // classes + (k < n % classes) for k in range(classes)])
    # radius runs from 0 to 1 along each arm
    r = np.concatenate([np.linspace(0.0, 1.0, np.count_nonzero(y == k)) for k in range(classes)])
    theta = 2 * np.pi * y / classes + 4.0 * r + noise * rng.standard_normal(n)
    X = r[:, None] * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    order = rng.permutation(n)
    return X[order], y[order]
