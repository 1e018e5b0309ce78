"""tg.datasets: exact XOR points, shapes, dtypes, labels, geometry and determinism."""
import numpy as np
import pytest

import tinygrad_edu as tg


def test_xor():
    X, y = tg.datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.shape == (4, 2) and y.shape == (4,)


@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_moons_shapes_and_labels(n):
    X, y = tg.datasets.make_moons(n, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.count_nonzero(y == 0) == n - n // 2 and np.count_nonzero(y == 1) == n // 2


def test_moons_geometry_without_noise():
    X, y = tg.datasets.make_moons(100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)  # on the unit circle
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_moons_noise_has_the_given_scale():
    X0, y0 = tg.datasets.make_moons(4000, noise=0.0, seed=1)
    X, y = tg.datasets.make_moons(4000, noise=0.1, seed=1)
    # the same shuffle, so the difference is exactly the noise
    np.testing.assert_array_equal(y, y0)
    assert np.std(X - X0) == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize("make", [tg.datasets.make_moons, tg.datasets.make_spirals])
def test_deterministic_for_a_seed_and_from_manual_seed(make):
    a, b = make(50, seed=3), make(50, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], make(50, seed=4)[0])
    tg.manual_seed(11)
    c = make(50)
    tg.manual_seed(11)
    d = make(50)
    np.testing.assert_array_equal(c[0], d[0])
    assert not np.array_equal(make(50)[0], c[0])  # the generator moved on


@pytest.mark.parametrize("n, classes", [(300, 3), (10, 3), (7, 2), (5, 5), (4, 1)])
def test_spirals_shapes_and_labels(n, classes):
    X, y = tg.datasets.make_spirals(n, classes=classes, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=classes)
    assert counts.sum() == n and counts.max() - counts.min() <= 1 and len(counts) == classes
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)  # radii in [0, 1]


def test_spiral_arms_without_noise():
    X, y = tg.datasets.make_spirals(30, classes=3, seed=0, noise=0.0)
    for k in range(3):
        arm = X[y == k]
        r = np.hypot(arm[:, 0], arm[:, 1])
        order = np.argsort(r)
        np.testing.assert_allclose(r[order], np.linspace(0, 1, 10), atol=1e-12)
        theta = np.arctan2(arm[order, 0], arm[order, 1])[1:]  # angle of r(sin θ, cos θ)
        expected = 2 * np.pi * k / 3 + 4.0 * np.linspace(0, 1, 10)[1:]
        np.testing.assert_allclose(np.cos(theta - expected), 1.0, atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: tg.datasets.make_moons(0), "n must be"),
    (lambda: tg.datasets.make_moons(2.5), "n must be"),
    (lambda: tg.datasets.make_moons(10, noise=-1), "noise"),
    (lambda: tg.datasets.make_spirals(0), "n must be"),
    (lambda: tg.datasets.make_spirals(10, classes=0), "classes"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
