"""Special values agree with PyTorch (issue 11, family 3).

Every op and composite, forward and backward, at ±0, ±inf, nan, the largest float, the
smallest normal and subnormal floats, the kinks (0, the clip bounds, softplus's switch at
40, ties) and ordinary values around them, in float32 and float64, against PyTorch: the
whole grid for one-argument functions, every pair of grid values for two-argument ones
and for reductions along an axis, every pair for the losses. nan where PyTorch gives nan,
the same infinities, the same sign of a zero result, equal numbers elsewhere.

"Equal numbers" allows a few ulps plus one ulp of 1 in absolute terms: composites such
as tanh = 2σ(2x) − 1 or softplus = log(1 + eˣ) are built from exp and log, with no
expm1 or log1p, so near 0 they are exact to an ulp of 1 rather than to an ulp of the
result (tanh(1e-30) is 0, PyTorch's 1e-30). Where we differ on purpose, ``DELIBERATE``
lists the case with the reason, and the test checks our documented value there instead.
Skipped without torch.
"""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")
F = torch.nn.functional

from tinygrad_edu import Tensor, nn  # noqa: E402

DTYPES = [np.float32, np.float64]
ULPS = 64  # relative tolerance, in ulps of the dtype (PyTorch's own logsumexp is off by ~10 at 40)


def grid(dtype):
    """The special values, the kinks and ordinary values around them, each with both signs."""
    fi = np.finfo(dtype)
    base = [0.0, np.inf, np.nan, fi.max, fi.tiny, fi.smallest_subnormal, 1e-3, 0.01, 0.5, 1.0,
            2.0, 3.0, 20.0, 21.0, 40.0, 41.0, 1000.0]
    return np.array([v for b in base for v in (b, -b)], dtype=dtype)


def pairs(dtype):
    """Every ordered pair of grid values, as two arrays."""
    g = grid(dtype)
    a, b = np.array(list(itertools.product(g, g)), dtype=dtype).T
    return a.copy(), b.copy()


def upstream(shape, dtype):
    """A fixed upstream gradient with mixed signs and sizes (so softmax's is not all 0)."""
    return ((np.arange(int(np.prod(shape))) % 3) - 0.5).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------------------------
# What we deliberately do differently: (function, dtype or None for both, which result,
# the inputs it concerns) -> (our value, the reason). The README lists the same cases.
# ---------------------------------------------------------------------------------------
def is_neg_zero(x):
    return (x == 0) & np.signbit(x)


def is_nan(x):
    return np.isnan(x)


def is_neg_inf(x):
    return np.isneginf(x)


def is_pm_max(x):
    return np.all(np.abs(x) == np.finfo(x.dtype).max, axis=-1, keepdims=True) & (x[..., :1] == x[..., 1:])


def is_zero_tie(x):
    return np.any(is_neg_zero(x), axis=-1) & np.any((x == 0) & ~np.signbit(x), axis=-1)


def in_20_40(x):
    return (x > 20) & (x < 40)


def sigma(x):
    return 1 / (1 + np.exp(-x))


DELIBERATE = {
    ("relu", None, "value", is_neg_zero): (0.0, "relu(−0.0) is +0.0 (PyTorch −0.0): a select gives the constant 0"),
    ("elu", None, "value", is_neg_zero): (0.0, "elu(−0.0) is +0.0 (PyTorch −0.0, from its expm1)"),
    ("tanh", None, "value", is_neg_zero): (0.0, "tanh(−0.0) is +0.0 (PyTorch −0.0): 2σ(−0) − 1 = +0"),
    ("elu", None, "grad", is_nan): (None, "elu'(nan) is nan; PyTorch gives 1 or nan depending on where the "
                                          "nan sits in the array (its vector and scalar loops differ)"),
    ("sqrt", None, "grad", is_neg_zero): (np.inf, "sqrt'(−0.0) is +inf (PyTorch −inf): 0.5·(−0.0)^(−½) = +inf"),
    ("sqrt", None, "grad", is_neg_inf): (0.0, "sqrt'(−inf) is 0 (PyTorch nan): 0.5·(−inf)^(−½) = 0 outside "
                                              "the domain"),
    ("pow0.5", None, "grad", is_neg_zero): (np.inf, "as sqrt: PyTorch turns x ** 0.5 into sqrt"),
    ("pow0.5", None, "grad", is_neg_inf): (0.0, "as sqrt: PyTorch turns x ** 0.5 into sqrt"),
    ("pow-0.5", None, "value", is_neg_zero): (np.inf, "(−0.0) ** −0.5 is +inf, C's pow (PyTorch's rsqrt: −inf)"),
    ("pow-0.5", None, "value", is_neg_inf): (0.0, "(−inf) ** −0.5 is 0, C's pow (PyTorch's rsqrt: nan)"),
    ("pow-0.5", None, "grad", is_neg_inf): (0.0, "−0.5·(−inf)^(−1.5) = 0 (PyTorch's rsqrt: nan)"),
    ("softplus", np.float64, "value", in_20_40): (lambda x: np.logaddexp(0, x), "softplus(x) for 20 < x < 40 "
                                                "is log(1 + eˣ), PyTorch's threshold=20 gives x: ≤ 2.1e-9 "
                                                "apart (tg's to_torch sets threshold=40: equal there)"),
    ("softplus", np.float64, "grad", in_20_40): (sigma, "σ(x) there, PyTorch 1 (threshold=20)"),
    ("max", None, "value", is_zero_tie): (None, "max/min of a tie of 0.0 and −0.0 is either zero (numpy's pick)"),
    ("min", None, "value", is_zero_tie): (None, "as max"),
    ("logsumexp", None, "grad", is_pm_max): (None, "logsumexp'([M, M]) at M = ±largest float is softmax = "
                                                   "[½, ½]; PyTorch's exp(x − result) is [1, 1], as its "
                                                   "result M + log 2 rounded to M (test_logsumexp_at_...)"),
}


def deliberate(name, dtype, which, x, expected, ours):
    """PyTorch's results with our documented values put in where we differ on purpose
    (a function of x, or None where either answer is right: then ours is kept)."""
    expected = np.array(expected, copy=True)
    for (fname, dt, what, where), (value, _reason) in DELIBERATE.items():
        if fname == name and what == which and dt in (None, dtype):
            mask = where(x)
            if mask.ndim != expected.ndim:  # a row's mask for a reduction's result
                mask = mask.reshape(expected.shape if mask.ndim > expected.ndim else mask.shape + (1,))
            mask = np.broadcast_to(mask, expected.shape)
            if value is None:
                expected[mask] = np.asarray(ours)[mask]
            elif callable(value):
                with np.errstate(all="ignore"):
                    expected[mask] = np.broadcast_to(value(x), expected.shape)[mask]
            else:
                expected[mask] = value
    return expected


# ---------------------------------------------------------------------------------------
# The comparison.
# ---------------------------------------------------------------------------------------
# PyTorch's gradient of logsumexp, exp(x − result), inherits the rounding of the result: an
# ulp of |result|, so its error grows with |x| (3e-5 relative at x = 1000 in float32; ours
# is softmax, exact). There the allowance is an ulp of the row's largest finite |x|.
SCALE = {"logsumexp": lambda x: 1 + np.max(np.where(np.isfinite(x), np.abs(x), 0), axis=-1, keepdims=True)}


def assert_agree(ours, theirs, dtype, what, inputs, check_zero_sign=True, scale=1.0):
    """nan where PyTorch has nan, the same infinities and zero signs, close numbers elsewhere."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, what
    eps = float(np.finfo(dtype).eps)
    with np.errstate(invalid="ignore"):
        same_nan = np.isnan(ours) == np.isnan(theirs)
        finite = np.isfinite(ours) & np.isfinite(theirs)
        same_inf = np.where(np.isinf(theirs) | np.isinf(ours), ours == theirs, True)
        close = np.where(finite, np.abs(ours - theirs) <= ULPS * eps * (np.abs(theirs) + scale), True)
        sign = np.where((ours == 0) & (theirs == 0), np.signbit(ours) == np.signbit(theirs), True)
    ok = same_nan & same_inf & close & (sign if check_zero_sign else True)
    if not ok.all():
        bad = np.argwhere(~ok)[:6]
        lines = [f"  at {tuple(int(i) for i in k)} input {np.asarray(inputs)[tuple(k)[:np.ndim(inputs)]]!r}: "
                 f"ours {ours[tuple(k)]!r}, torch {theirs[tuple(k)]!r}" for k in bad]
        pytest.fail(f"{what}: {int((~ok).sum())} of {ok.size} differ from PyTorch\n" + "\n".join(lines))


def run_ours(f, arrays, seed):
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        y = f(*xs)
        y.backward(seed(y.shape))
    return y.data, [x.grad.data if x.grad is not None else np.zeros_like(x.data) for x in xs]


def run_torch(f, arrays, seed):
    xs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y = f(*xs)
    y.backward(torch.from_numpy(seed(tuple(y.shape))))
    return y.detach().numpy(), [x.grad.numpy() if x.grad is not None else np.zeros_like(a) for x, a in zip(xs, arrays)]


def compare(name, ours_f, torch_f, arrays, dtype, seed=None):
    """Run both, put in the deliberate differences, and compare the value and each gradient."""
    seed = seed or (lambda shape: np.ones(shape, dtype))
    y, grads = run_ours(ours_f, arrays, seed)
    yt, grads_t = run_torch(torch_f, arrays, seed)
    x = arrays[0] if len(arrays) == 1 else np.stack(arrays, axis=-1)
    loss = name.endswith(("loss", "logits", "entropy"))  # the sign of a zero loss is not checked
    assert_agree(y, deliberate(name, dtype, "value", x, yt, y), dtype, f"{name} {dtype.__name__} value", x,
                 check_zero_sign=not loss)
    for i, (g, gt) in enumerate(zip(grads, grads_t)):
        gt = deliberate(name, dtype, "grad", x, gt, g) if len(arrays) == 1 else gt
        scale = SCALE[name](x) if name in SCALE else 1.0
        assert_agree(g, gt, dtype, f"{name} {dtype.__name__} gradient of argument {i}", x,
                     check_zero_sign=False, scale=scale)


# ---------------------------------------------------------------------------------------
# Functions of one argument, over the whole grid.
# ---------------------------------------------------------------------------------------
UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (lambda x: x.exp(), torch.exp),
    "log": (lambda x: x.log(), torch.log),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt),
    "abs": (lambda x: x.abs(), torch.abs),
    "relu": (lambda x: x.relu(), torch.relu),
    "leaky_relu": (lambda x: x.leaky_relu(0.2), lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu_default": (lambda x: x.leaky_relu(), F.leaky_relu),
    "elu": (lambda x: x.elu(2.0), lambda x: F.elu(x, 2.0)),
    "softplus": (lambda x: x.softplus(), F.softplus),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "clip": (lambda x: x.clip(-1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
    "clip_lo": (lambda x: x.clip(0.5), lambda x: torch.clamp(x, min=0.5)),
    "clip_hi": (lambda x: x.clip(None, 0.5), lambda x: torch.clamp(x, max=0.5)),
    "maximum_0": (lambda x: x.maximum(0.0), lambda x: torch.maximum(x, torch.zeros_like(x))),
    "minimum_0": (lambda x: x.minimum(0.0), lambda x: torch.minimum(x, torch.zeros_like(x))),
    "pow0": (lambda x: x**0.0, lambda x: x**0.0),
    "pow0.5": (lambda x: x**0.5, lambda x: x**0.5),
    "pow1": (lambda x: x**1.0, lambda x: x**1.0),
    "pow2": (lambda x: x**2.0, lambda x: x**2.0),
    "pow3": (lambda x: x**3.0, lambda x: x**3.0),
    "pow-1": (lambda x: x**-1.0, lambda x: x**-1.0),
    "pow-0.5": (lambda x: x**-0.5, lambda x: x**-0.5),
    "2**x": (lambda x: 2.0**x, lambda x: 2.0**x),
    "0**x": (lambda x: 0.0**x, lambda x: 0.0**x),
    "1/x": (lambda x: 1.0 / x, lambda x: 1.0 / x),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_one_argument_functions_on_the_grid(name, dtype):
    ours, theirs = UNARY[name]
    compare(name, ours, theirs, [grid(dtype)], dtype)


# ---------------------------------------------------------------------------------------
# Functions of two arguments, over every pair of grid values (both gradients).
# ---------------------------------------------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
    "maximum": (lambda a, b: a.maximum(b), torch.maximum),
    "minimum": (lambda a, b: a.minimum(b), torch.minimum),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_two_argument_functions_on_every_pair(name, dtype):
    ours, theirs = BINARY[name]
    compare(name, ours, theirs, list(pairs(dtype)), dtype)


# ---------------------------------------------------------------------------------------
# Reductions along an axis: every pair of grid values as a row (ties, infinities, nan).
# ---------------------------------------------------------------------------------------
REDUCTIONS = {
    "sum": (lambda x: x.sum(axis=1), lambda x: x.sum(dim=1)),
    "mean": (lambda x: x.mean(axis=1), lambda x: x.mean(dim=1)),
    "max": (lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    "min": (lambda x: x.min(axis=1), lambda x: x.amin(dim=1)),
    "logsumexp": (lambda x: x.logsumexp(axis=1), lambda x: x.logsumexp(dim=1)),
    "softmax": (lambda x: x.softmax(axis=1), lambda x: x.softmax(dim=1)),
    "log_softmax": (lambda x: x.log_softmax(axis=1), lambda x: x.log_softmax(dim=1)),
    "max_keepdims": (lambda x: x.max(axis=1, keepdims=True), lambda x: x.amax(dim=1, keepdim=True)),
    "logsumexp_keepdims": (lambda x: x.logsumexp(axis=1, keepdims=True),
                           lambda x: x.logsumexp(dim=1, keepdim=True)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_over_every_pair(name, dtype):
    ours, theirs = REDUCTIONS[name]
    rows = np.stack(pairs(dtype), axis=1)
    compare(name.removesuffix("_keepdims"), ours, theirs, [rows], dtype, seed=lambda s: upstream(s, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp"])
def test_whole_tensor_reductions_of_every_pair(name, dtype):
    """axis=None, one pair at a time (a nan anywhere makes the whole result nan)."""
    ours = getattr(Tensor, name)
    theirs = {"max": torch.amax, "min": torch.amin, "logsumexp": lambda t: t.logsumexp(dim=(0, 1))}.get(
        name, getattr(torch.Tensor, name))
    for a, b in zip(*pairs(dtype)):
        compare(name, lambda t: ours(t), theirs, [np.array([[a, b]], dtype)], dtype)


# ---------------------------------------------------------------------------------------
# The losses: every pair (prediction, target), and every pair of logits with each label.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name, ours, theirs", [
    ("mse_loss", nn.mse_loss, F.mse_loss),
    ("binary_cross_entropy_with_logits", nn.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits),
])
def test_elementwise_losses_on_every_pair(name, ours, theirs, dtype):
    for p, t in zip(*pairs(dtype)):  # one element per call: a mean mixes a nan into every gradient
        compare(name, ours, theirs, [np.array([p], dtype), np.array([t], dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_cross_entropy_on_every_pair_of_logits(dtype):
    for a, b in zip(*pairs(dtype)):
        for label in (0, 1):
            compare("cross_entropy", lambda x: nn.cross_entropy(x, np.array([label])),
                    lambda x: F.cross_entropy(x, torch.tensor([label])), [np.array([[a, b]], dtype)], dtype)


# ---------------------------------------------------------------------------------------
# Generated: random shapes mixing special and ordinary values.
# ---------------------------------------------------------------------------------------
def mixed_arrays(dtype):
    specials = st.sampled_from(list(grid(dtype)))
    ordinary = st.floats(-50, 50, width=32 if dtype == np.float32 else 64)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=specials | ordinary)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@given(data=st.data())
def test_generated_arrays_of_special_values(dtype, data):
    x = data.draw(mixed_arrays(dtype))
    for name in ("relu", "elu", "softplus", "sigmoid", "tanh", "abs", "clip", "leaky_relu"):
        compare(name, *UNARY[name], [x], dtype)
    seed = lambda s: upstream(s, dtype)  # noqa: E731
    for name in ("softmax", "log_softmax", "max", "min", "mean"):
        ours, theirs = (lambda t, n=name: getattr(t, n)(axis=-1),
                        lambda t, n=name: {"max": t.amax, "min": t.amin}.get(n, getattr(t, n))(dim=-1))
        compare(name, ours, theirs, [x], dtype, seed=seed)


# ---------------------------------------------------------------------------------------
# The cases the issue named, stated outright.
# ---------------------------------------------------------------------------------------
def value_and_grad(f, x):
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    with np.errstate(all="ignore"):
        y = f(t)
        y.backward()
    return y.item(), t.grad.item()


def test_the_issues_examples():
    y, g = value_and_grad(lambda t: t.relu(), np.nan)
    assert np.isnan(y) and g == 1.0  # PyTorch's: nan passes through, with slope 1
    assert value_and_grad(lambda t: t.softplus(), np.inf) == (np.inf, 1.0)
    assert value_and_grad(lambda t: t.sigmoid(), -np.inf) == (0.0, 0.0)
    assert value_and_grad(lambda t: t.tanh(), np.inf) == (1.0, 0.0)
    assert value_and_grad(lambda t: t.tanh(), -np.inf) == (-1.0, 0.0)
    assert value_and_grad(lambda t: t**0.0, 0.0) == (1.0, 0.0)
    base = Tensor(0.0)
    assert value_and_grad(lambda p: base**p, 2.0) == (0.0, 0.0)  # 0ᵖ: flat in p for p ≥ 0
    y, g = value_and_grad(lambda t: t.abs(), 0.0)
    assert (y, g) == (0.0, 0.0) and not np.signbit(y)
    y, _ = value_and_grad(lambda t: t.abs(), -0.0)
    assert not np.signbit(y)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_logsumexp_at_the_largest_float_has_softmaxs_gradient(dtype):
    big = np.finfo(dtype).max
    for row in ([big, big], [-big, -big]):
        x = Tensor(np.array(row, dtype), requires_grad=True)
        y = x.logsumexp()
        y.backward()
        assert y.item() == row[0] and x.grad.tolist() == [0.5, 0.5]  # M + log 2 rounds to M


def test_a_diverged_network_reports_a_nan_loss():
    x = Tensor([[1.0, np.nan]], requires_grad=True)
    hidden = (x * 2.0).relu()
    assert np.isnan(nn.mse_loss(hidden, np.zeros((1, 2))).item())
    assert np.isnan(nn.binary_cross_entropy_with_logits(hidden, np.zeros((1, 2))).item())
    assert np.isnan(nn.cross_entropy(hidden, np.array([0])).item())


def test_every_deliberate_difference_is_still_a_difference():
    """A listed case that PyTorch now agrees with is stale: the list (and the README) must shrink."""
    for (name, dt, which, where), (value, reason) in DELIBERATE.items():
        if value is None:  # either answer is right; the reason says why
            continue
        for dtype in [dt] if dt else DTYPES:
            x = grid(dtype)
            yt, grads_t = run_torch(UNARY[name][1], [x], lambda s: np.ones(s, dtype))
            mask = where(x)
            theirs = (yt if which == "value" else grads_t[0])[mask]
            with np.errstate(all="ignore"):
                ours = np.broadcast_to(value(x) if callable(value) else value, x.shape)[mask].astype(dtype)
                same = (theirs == ours) & (np.signbit(theirs) == np.signbit(ours))
                same |= np.isnan(theirs) & np.isnan(ours)
            assert mask.any() and not same.any(), f"{name} at {x[mask]}: PyTorch now agrees ({reason})"
