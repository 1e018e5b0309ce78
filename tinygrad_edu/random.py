"""The engine's random generator: parameter initialisation and datasets draw from it."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator, so that models and datasets are the same on every run."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator():
    """The current generator (use it; do not keep it, ``manual_seed`` replaces it)."""
    return _generator
