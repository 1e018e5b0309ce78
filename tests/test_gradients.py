"""Every differentiable op and method against central differences, through the public gradcheck.

Hypothesis draws the shapes (mutually broadcastable for binary ops) and float64 values,
kept away from kinks, ties and the edges of domains, where a finite difference is not a
derivative. gradcheck uses a random upstream gradient for non-scalar outputs, so a
transposed or permuted gradient cannot hide behind a gradient of ones. The second half
checks the backward rules themselves are differentiable (create_graph): the gradient of a
gradient, again against finite differences.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
PAIR_SHAPES = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


def values(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def away_from_zero(x, gap=0.2):
    """Push values out of (−gap, gap): the kink of relu, abs, elu, ... sits at 0."""
    return np.where(x >= 0, x + gap, x - gap)


def positive(x):
    return np.abs(x) + 0.5


def check(f, *inputs):
    assert tg.gradcheck(f, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------------------------------
# Unary elementwise ops: (name, function, how to make values valid).
# ---------------------------------------------------------------------------------------
UNARY = {
    "neg": (lambda x: -x, None),
    "exp": (lambda x: x.exp(), None),
    "log": (lambda x: x.log(), positive),
    "sqrt": (lambda x: x.sqrt(), positive),
    "abs": (lambda x: x.abs(), away_from_zero),
    "relu": (lambda x: x.relu(), away_from_zero),
    "elu": (lambda x: x.elu(), away_from_zero),
    "elu_alpha2": (lambda x: x.elu(alpha=2.0), away_from_zero),
    "softplus": (lambda x: x.softplus(), None),
    "sigmoid": (lambda x: x.sigmoid(), None),
    "tanh": (lambda x: x.tanh(), None),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), away_from_zero),
    "clip": (lambda x: x.clip(-1.0, 1.0), lambda x: np.where(np.abs(np.abs(x) - 1) < 0.2, x * 1.5, x)),
    "pow2": (lambda x: x**2, None),
    "pow3": (lambda x: x**3, None),
    "pow_frac": (lambda x: x**1.5, positive),
    "pow_neg": (lambda x: x**-1.0, positive),
    "rpow": (lambda x: 2.0**x, None),
    "rdiv": (lambda x: 1.0 / x, positive),
    "rsub": (lambda x: 1.0 - x, None),
    "radd_array": (lambda x: np.full(x.shape, 0.5) + x, None),
    "tg.exp": (lambda x: tg.exp(x), None),
    "tg.log": (lambda x: tg.log(x), positive),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    f, fix = UNARY[name]
    x = data.draw(values(data.draw(SHAPES)))
    check(f, fix(x) if fix else x)


# ---------------------------------------------------------------------------------------
# Binary ops with broadcasting: gradients must be summed back to each input's shape.
# ---------------------------------------------------------------------------------------
def ties_apart(a, b):
    """Values of a on the grid ℤ+¼ and of b on ℤ+¾: they never tie and never come closer than ½."""
    return np.round(a) + 0.25, np.round(b) + 0.75


BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, lambda a, b: (a, away_from_zero(b, 0.5))),
    "pow": (lambda a, b: a**b, lambda a, b: (positive(a), b)),
    "maximum": (lambda a, b: a.maximum(b), ties_apart),
    "minimum": (lambda a, b: a.minimum(b), ties_apart),
    "tg.maximum": (lambda a, b: tg.maximum(a, b), ties_apart),
    "tg.minimum": (lambda a, b: tg.minimum(a, b), ties_apart),
    "where": (lambda a, b: tg.where(a.data > b.data, a, b), ties_apart),
}


def draw_pair(name, data):
    """Two broadcastable inputs for BINARY[name], made valid for it."""
    fix = BINARY[name][1]
    shapes = data.draw(PAIR_SHAPES).input_shapes
    a, b = data.draw(values(shapes[0])), data.draw(values(shapes[1]))
    return fix(a, b) if fix else (a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_broadcasting(name, data):
    check(BINARY[name][0], *draw_pair(name, data))


@given(data=st.data())
def test_where_with_a_constant_branch(data):
    shapes = data.draw(PAIR_SHAPES).input_shapes
    a = data.draw(values(shapes[0]))
    cond = data.draw(hnp.arrays(np.bool_, shapes[1]))
    check(lambda x: tg.where(cond, x, 0.5), a)
    check(lambda x: tg.where(cond, -1.0, x), a)


@given(data=st.data())
def test_matmul(data):
    """numpy's matmul semantics: 1-D (vector), 2-D and batched with broadcast batch dims."""
    kind = data.draw(st.sampled_from(["2d", "vec_mat", "mat_vec", "vec_vec", "batched", "batch_broadcast", "batch_vec"]))
    n, k, m, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    shapes = {
        "2d": ((n, k), (k, m)),
        "vec_mat": ((k,), (k, m)),
        "mat_vec": ((n, k), (k,)),
        "vec_vec": ((k,), (k,)),
        "batched": ((b, n, k), (b, k, m)),
        "batch_broadcast": ((b, 1, n, k), (3, k, m)),
        "batch_vec": ((k,), (b, k, m)),
    }[kind]
    a, c = data.draw(values(shapes[0])), data.draw(values(shapes[1]))
    check(lambda x, y: x @ y, a, c)


def test_matmul_with_numpy_operands(rng):
    a, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check(lambda x: x @ w, a)
    check(lambda x: a @ x, w)


# ---------------------------------------------------------------------------------------
# Reductions, softmax and shape ops.
# ---------------------------------------------------------------------------------------
@st.composite
def shape_and_axis(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True).map(tuple)))
    return shape, axis, draw(st.booleans())


def distinct(shape, data):
    """Values without ties (a random permutation of a spread-out grid), for max and min."""
    n = int(np.prod(shape))
    perm = data.draw(st.permutations(range(n)))
    return (np.array(perm, dtype=np.float64) * 0.5 - n / 4).reshape(shape)


REDUCTIONS = {
    "sum": lambda x, axis, keep: x.sum(axis=axis, keepdims=keep),
    "mean": lambda x, axis, keep: x.mean(axis=axis, keepdims=keep),
    "max": lambda x, axis, keep: x.max(axis=axis, keepdims=keep),
    "min": lambda x, axis, keep: x.min(axis=axis, keepdims=keep),
    "logsumexp": lambda x, axis, keep: x.logsumexp(axis=axis, keepdims=keep),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_reductions(name, data):
    shape, axis, keep = data.draw(shape_and_axis())
    x = distinct(shape, data) if name in ("max", "min") else data.draw(values(shape))
    check(lambda t: REDUCTIONS[name](t, axis, keep), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(values(shape, -5, 5))
    check(lambda t: getattr(t, name)(axis=axis), x)


@given(data=st.data())
def test_reshape_and_flatten(data):
    shape = data.draw(SHAPES)
    x = data.draw(values(shape))
    n = x.size
    check(lambda t: t.reshape(n, 1), x)
    check(lambda t: t.reshape((1, n)), x)
    check(lambda t: t.reshape(-1), x)
    check(lambda t: t.flatten(), x)


@given(data=st.data())
def test_transpose(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3))
    perm = data.draw(st.permutations(range(len(shape))))
    x = data.draw(values(shape))
    check(lambda t: t.transpose(*perm), x)
    check(lambda t: t.transpose(), x)
    check(lambda t: t.T, x)


@given(data=st.data())
def test_expand(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3))
    x = data.draw(values(shapes.input_shapes[0]))
    check(lambda t: t.expand(shapes.result_shape), x)


@given(data=st.data())
def test_indexing(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = data.draw(values(shape))
    basic = data.draw(hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True))
    ints = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))  # repeats allowed
    check(lambda t: t[basic], x)
    check(lambda t: t[np.array(ints)], x)
    check(lambda t: t[x > 0], x)


def test_indexing_rows_and_columns_picks(rng):
    """The cross-entropy pattern: one element per row, picked by integer arrays."""
    x = rng.standard_normal((5, 3))
    rows, cols = np.arange(5), np.array([0, 2, 2, 1, 0])
    check(lambda t: t[rows, cols], x)
    check(lambda t: t[[0, 0, 0]], x)  # a row picked three times gets three gradients


# ---------------------------------------------------------------------------------------
# The backward rules are differentiable (create_graph): check grad(f) by finite differences.
# ---------------------------------------------------------------------------------------
SECOND_ORDER = ["exp", "log", "sqrt", "softplus", "sigmoid", "tanh", "elu", "pow3", "rpow", "rdiv", "abs", "relu"]


@pytest.mark.parametrize("name", SECOND_ORDER)
@given(data=st.data())
def test_gradient_of_gradient(name, data):
    f, fix = UNARY[name]
    x = data.draw(values(data.draw(SHAPES)))
    x = fix(x) if fix else x
    w = np.linspace(-1.0, 2.0, x.size).reshape(x.shape)  # an upstream gradient that is not ones
    df = tg.grad(lambda t: (f(t) * w).sum())
    check(df, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_gradient_of_gradient_binary(name, data):
    f = BINARY[name][0]
    a, b = draw_pair(name, data)
    dfa = tg.grad(lambda s, t: (f(s, t) ** 2).sum(), argnums=(0, 1))
    check(lambda s, t: dfa(s, t)[0], a, b)
    check(lambda s, t: dfa(s, t)[1], a, b)


def test_gradient_of_gradient_structural(rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check(tg.grad(lambda t: ((t @ w) ** 2).sum()), x)
    check(tg.grad(lambda t: (t.max(axis=1) ** 2).sum()), rng.permutation(12).reshape(3, 4) * 1.0)
    check(tg.grad(lambda t: (t[[0, 0, 2]] ** 2).sum()), x)
    v = rng.standard_normal((2, 4))
    check(tg.grad(lambda t: (t.log_softmax(axis=1) * v).sum()), rng.standard_normal((2, 4)))
    check(tg.grad(lambda t: (t.transpose(1, 0).reshape(-1) ** 3).sum()), x)
