"""The engine's random generator: parameter initialisation and datasets draw from it."""
import numbers

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator, so that models and datasets are the same on every run.

    ``seed`` is a non-negative integer (as in ``torch.manual_seed``); anything else is an
    error naming the value, rather than numpy's message about entropy.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: the seed must be a non-negative integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The current generator (use it; do not keep it, ``manual_seed`` replaces it)."""
    return _generator
