"""Shared test settings: Hypothesis is deterministic (same examples every run) and quick."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,  # the same examples on every run and every machine: CI cannot flake
    deadline=None,  # no per-example timing: timing is the benchmark's job, not the tests'
    max_examples=int(os.environ.get("TG_HYPOTHESIS_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
