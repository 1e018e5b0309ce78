"""Issue 14's additions against central differences, through the public gradcheck.

As in test_gradients.py: Hypothesis draws shapes (broadcastable pairs for binary ops) and
float64 values kept away from kinks, jumps and domain edges; gradcheck uses a random
upstream gradient, so a permuted gradient cannot hide. Then second derivatives of the new
primitives (their backward rules are math on Tensors, so they differentiate again).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.composites_layout import flatten

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
MATRIX_SHAPES = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)
PAIR_SHAPES = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


def values(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def check(f, *inputs):
    assert tg.gradcheck(f, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def inside_unit(x):
    return np.tanh(x) * 0.9  # (−0.9, 0.9): away from arcsin's and arctanh's edges


def above_one(x):
    return np.abs(x) + 1.2


def positive(x):
    return np.abs(x) + 0.5


def small(x):
    return x / 3.0  # tan: away from ±π/2


UNARY = {
    "sin": (lambda x: x.sin(), None), "cos": (lambda x: x.cos(), None), "tan": (lambda x: x.tan(), small),
    "arcsin": (lambda x: x.arcsin(), inside_unit), "arccos": (lambda x: x.arccos(), inside_unit),
    "arctan": (lambda x: x.arctan(), None), "sinh": (lambda x: x.sinh(), None),
    "cosh": (lambda x: x.cosh(), None), "arcsinh": (lambda x: x.arcsinh(), None),
    "arccosh": (lambda x: x.arccosh(), above_one), "arctanh": (lambda x: x.arctanh(), inside_unit),
    "log1p": (lambda x: x.log1p(), positive), "expm1": (lambda x: x.expm1(), None),
    "square": (lambda x: x.square(), None), "reciprocal": (lambda x: x.reciprocal(), positive),
    "exp2": (lambda x: x.exp2(), None), "log2": (lambda x: x.log2(), positive),
    "log10": (lambda x: x.log10(), positive),
    "floor": (lambda x: x.floor() * x, lambda x: np.round(x) + 0.5),  # steps: gradient 0, so x·floor(x)' = floor(x)
    "ceil": (lambda x: x.ceil() * x, lambda x: np.round(x) + 0.5),
    "round": (lambda x: x.round() * x, lambda x: np.round(x) + 0.25),
    "sign": (lambda x: x.sign() * x, lambda x: np.where(x >= 0, x + 0.2, x - 0.2)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    f, fix = UNARY[name]
    x = data.draw(values(data.draw(SHAPES)))
    check(f, fix(x) if fix else x)


def quotient_away_from_integers(a, b):
    """b in ±[0.5, 3.5], a such that a/b sits ¼ away from an integer (the jumps of x mod y)."""
    b = np.where(b >= 0, b + 0.5, b - 0.5)
    return (np.round(a) + 0.25) * b, b


BINARY = {
    "arctan2": (lambda a, b: a.arctan2(b), lambda a, b: (np.where(a >= 0, a + 0.3, a - 0.3), b)),  # jump at y = 0, x < 0
    "hypot": (lambda a, b: a.hypot(b), lambda a, b: (a + 0.1, b - 0.1)),
    "logaddexp": (lambda a, b: a.logaddexp(b), None),
    "tg.logaddexp": (lambda a, b: tg.logaddexp(a, b), None),
    "remainder": (lambda a, b: a % b, quotient_away_from_integers),
    "tg.remainder": (lambda a, b: tg.remainder(a, b), quotient_away_from_integers),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_broadcasting(name, data):
    f, fix = BINARY[name]
    shapes = data.draw(PAIR_SHAPES).input_shapes
    a, b = data.draw(values(shapes[0])), data.draw(values(shapes[1]))
    check(f, *(fix(a, b) if fix else (a, b)))


def axis_of(data, ndim, allow_tuple=True):
    """None, one axis, or (when allowed) a tuple of distinct axes of an ndim-dimensional tensor."""
    if ndim == 0:
        return None
    choices = [st.none(), st.integers(-ndim, ndim - 1)]
    if allow_tuple:
        choices.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    return data.draw(st.one_of(*choices))


REDUCTIONS = {
    "prod": lambda x, axis, keep: x.prod(axis=axis, keepdims=keep),
    "var": lambda x, axis, keep: x.var(axis=axis, keepdims=keep),
    "var_population": lambda x, axis, keep: x.var(axis=axis, correction=0, keepdims=keep),
    "std": lambda x, axis, keep: x.std(axis=axis, keepdims=keep),
    "logsumexp": lambda x, axis, keep: x.logsumexp(axis=axis, keepdims=keep),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_reductions_over_any_axes(name, data):
    shape = data.draw(SHAPES if name not in ("var", "std") else hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
    x = data.draw(values(shape, 0.5, 2.0) if name == "prod" else values(shape))
    x = x + np.arange(x.size).reshape(shape) * 0.37  # distinct values: std's gradient is inf at std = 0
    axis, keep = axis_of(data, len(shape)), data.draw(st.booleans())
    if name in ("var", "std") and axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        if np.prod([shape[a] for a in axes]) < 2:
            axis = None
    check(lambda t: REDUCTIONS[name](t, axis, keep), x)


@given(data=st.data())
def test_prod_with_zeros_among_the_inputs(data):
    """One zero in a slice: only the zero's factor gets a gradient; two zeros: none does.
    The gradient is a polynomial, so central differences are exact there too."""
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = data.draw(values(shape, 0.5, 2.0))
    zeros = data.draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    x = np.where(zeros, 0.0, x)
    axis = axis_of(data, len(shape))
    check(lambda t: t.prod(axis=axis), x)


@given(data=st.data())
def test_cumsum(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = data.draw(values(shape))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    check(lambda t: t.cumsum(axis=axis), x)


LAYOUT = {  # name: (function of a tensor with at least 2 dims)
    "stack": lambda t: tg.stack([t, t * 2.0, t.exp()], axis=1),
    "stack_last": lambda t: tg.stack([t, -t], axis=-1),
    "cat": lambda t: tg.cat([t, t * t], axis=-1),
    "split": lambda t: tg.cat(t.split(1, axis=0)[::-1], axis=0),
    "chunk": lambda t: tg.cat([c * (i + 1.0) for i, c in enumerate(t.chunk(2, axis=-1))], axis=-1),
    "squeeze_unsqueeze": lambda t: t.unsqueeze(1).unsqueeze(-1).squeeze(),
    "flatten": lambda t: flatten(t, 1),
    "permute": lambda t: t.permute(*range(t.ndim - 1, -1, -1)),
    "swapaxes": lambda t: t.swapaxes(0, -1),
    "moveaxis": lambda t: t.moveaxis(0, -1),
    "flip": lambda t: t.flip(0),
    "flip_all": lambda t: t.flip(),
    "roll": lambda t: t.roll(1, axis=-1),
    "roll_flat": lambda t: t.roll(-3),
    "repeat": lambda t: t.repeat(*([2] + [1] * (t.ndim - 1))),
    "tile": lambda t: t.tile((2, 1, 3)),
    "repeat_interleave": lambda t: t.repeat_interleave(2, axis=-1),
    "pad": lambda t: t.pad(1),
    "pad_value": lambda t: t.pad([(0, 0)] * (t.ndim - 1) + [(2, 1)], value=-1.5),
    "diagonal": lambda t: t.diagonal(),
    "diagonal_offset": lambda t: t.diagonal(offset=-1, axis1=-1, axis2=0),
    "trace": lambda t: t.trace(),
    "triu": lambda t: t.triu(),
    "tril": lambda t: t.tril(-1),
    "indexing_fancy_repeat": lambda t: t[np.array([0, 0, -1])],
}


@pytest.mark.parametrize("name", sorted(LAYOUT))
@given(data=st.data())
def test_layout(name, data):
    x = data.draw(values(data.draw(MATRIX_SHAPES)))
    check(LAYOUT[name], x)


EINSUMS = [  # (spec, shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 2)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("i,j->ij", [(2,), (3,)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]), ("i,i", [(3,), (3,)]), ("ij,ij->i", [(1, 3), (2, 3)]),
    ("ijk,jl,lk->i", [(2, 3, 2), (3, 2), (2, 2)]), ("iij->j", [(2, 2, 3)]),
]


@pytest.mark.parametrize("spec, shapes", EINSUMS, ids=[s for s, _ in EINSUMS])
def test_einsum(spec, shapes, rng):
    xs = [rng.standard_normal(s) for s in shapes]
    check(lambda *ts: tg.einsum(spec, *ts), *xs)
    assert np.allclose(tg.einsum(spec, *xs).data, np.einsum(spec, *xs), rtol=1e-12, atol=1e-12)


@given(data=st.data())
@settings(max_examples=15)
def test_dot_inner_outer_tensordot_match_numpy_and_central_differences(data):
    a = data.draw(values(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))))
    k = a.shape[-1]
    b = data.draw(values(data.draw(st.sampled_from([(k,), (k, 2), (2, k, 3)]))))
    c = data.draw(values(data.draw(st.sampled_from([(k,), (2, k), (2, 1, k)]))))
    axes = ([-1], [max(b.ndim - 2, 0)])  # a's last axis against b's axis of length k
    cases = [(tg.dot, np.dot, b), (tg.outer, np.outer, b), (tg.inner, np.inner, c),
             (lambda x, y: tg.tensordot(x, y, axes=axes), lambda x, y: np.tensordot(x, y, axes=axes), b)]
    for ours, numpys, other in cases:
        assert np.allclose(ours(a, other).data, numpys(a, other), rtol=1e-12, atol=1e-12)
        check(ours, a, other)


def test_products_with_a_scalar_are_plain_products():
    for f in (tg.dot, tg.inner):
        check(f, np.array(2.0), np.array([1.0, -3.0]))
        assert f(tg.Tensor(2.0), tg.Tensor([1.0, -3.0])).tolist() == [2.0, -6.0]


SECOND_ORDER = {
    "sin": lambda x: x.sin(), "cos": lambda x: x.cos(), "arcsin": lambda x: (x * 0.5).arcsin(),
    "arctan": lambda x: x.arctan(), "sinh": lambda x: x.sinh(), "arcsinh": lambda x: x.arcsinh(),
    "arccosh": lambda x: (x.abs() + 1.5).arccosh(), "arctanh": lambda x: (x * 0.3).arctanh(),
    "log1p": lambda x: (x.abs() + 0.2).log1p(), "expm1": lambda x: x.expm1(),
    "log10": lambda x: (x.abs() + 0.5).log10(), "prod": lambda x: x.prod(axis=0),
    "cumsum": lambda x: x.cumsum(axis=1) ** 2, "einsum": lambda x: tg.einsum("ij,kj->ik", x, x),
    "hypot": lambda x: x.hypot(x + 0.7), "arctan2": lambda x: x.arctan2(x * x + 1.0),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives(name, rng):
    """The gradient (with a fixed upstream v) is itself differentiated and checked."""
    f = SECOND_ORDER[name]
    x = rng.uniform(0.3, 1.5, size=(3, 2)) * rng.choice([-1.0, 1.0], size=(3, 2))
    v = rng.standard_normal(f(tg.Tensor(x)).shape)
    check(tg.grad(lambda t: (f(t) * v).sum()), x)


def test_prod_second_derivative_with_a_zero_factor(rng):
    """Exact with one zero per slice (the documented exception is two zeros in one slice)."""
    x = np.array([[0.0, 1.5, -2.0], [0.7, 0.0, 3.0]])
    check(tg.grad(lambda t: (t.prod(axis=1) * np.array([1.0, -2.0])).sum()), x)
