"""No wrong numbers, silently (issue 11, family 1).

``tg.grad`` gives the right derivative of every order for every argument and for every
tensor the function closes over: generated functions of three variables, differentiated
up to three times in random orders of arguments, against ``torch.func.grad``. Mixed
dtypes follow PyTorch's type promotion (with float64 as the default float, where PyTorch's
is float32), for every pair of dtypes, shapes (0-d or not) and operators, and with Python
numbers on either side. The comparisons with PyTorch are skipped without torch.
"""
import itertools
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor

try:
    import torch
    from torch.func import grad as torch_grad
except ImportError:  # the comparisons with PyTorch are skipped; the rest runs
    torch = torch_grad = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch (pip install torch)")


# ---------------------------------------------------------------------------------------
# The issue's examples.
# ---------------------------------------------------------------------------------------
def test_mixed_partial_of_x_times_y_is_one():
    f = lambda x, y: x * y  # noqa: E731
    assert tg.grad(tg.grad(f, argnums=1), argnums=0)(3.0, 2.0).item() == 1.0
    assert tg.grad(tg.grad(f, argnums=0), argnums=1)(3.0, 2.0).item() == 1.0


def test_a_gradient_depends_on_the_tensors_the_function_closes_over():
    x = Tensor(1.0, requires_grad=True)
    g = tg.grad(lambda y: x * y)(2.0)
    assert g.item() == 1.0 and g.requires_grad  # ∂(xy)/∂y = x, which depends on x
    g.backward()
    assert x.grad.item() == 1.0  # ∂x/∂x


def test_an_argument_that_is_also_closed_over_gives_the_partial_derivative():
    """torch.func's rule: the variable is the argument, not every use of the same tensor."""
    x = Tensor(3.0, requires_grad=True)
    g = tg.grad(lambda y: x * y)(x)
    assert g.item() == 3.0  # ∂(x·y)/∂y = x, not d(x²)/dx = 6 (torch.func.grad gives 3 too)
    g.backward()
    assert x.grad.item() == 1.0


def test_the_same_tensor_at_two_argnums_gives_two_partials():
    t = Tensor(2.0, requires_grad=True)
    da, db = tg.grad(lambda a, b: a * b * b, argnums=(0, 1))(t, t)
    assert (da.item(), db.item()) == (4.0, 8.0)  # b², 2ab, as torch.func.grad gives


def test_nested_grads_of_plain_numbers_keep_no_graph():
    """Nothing outside the calls requires grad: the result is a plain tensor (no graph kept)."""
    d3 = tg.grad(tg.grad(tg.grad(lambda x, y: x**3 * y.exp(), argnums=0), argnums=1), argnums=0)
    out = d3(1.5, 0.3)
    assert not out.requires_grad and out.op is None
    assert out.item() == pytest.approx(6 * 1.5 * np.exp(0.3), rel=1e-14)  # ∂³/∂x²∂y = 6x·eʸ


def test_grad_inside_no_grad_still_differentiates_but_records_nothing():
    w = Tensor(2.0, requires_grad=True)
    with tg.no_grad():
        g = tg.grad(lambda x: w * x * x)(3.0)
    assert g.item() == 12.0 and not g.requires_grad


# ---------------------------------------------------------------------------------------
# Generated: random functions of x, y, z, differentiated up to three times, vs torch.func.
# ---------------------------------------------------------------------------------------
UNARY = {  # smooth everywhere, so no kink decides the answer; (ours, torch's)
    "tanh": (lambda t: t.tanh(), lambda t: torch.tanh(t)),
    "sigmoid": (lambda t: t.sigmoid(), lambda t: torch.sigmoid(t)),
    "softplus": (lambda t: t.softplus(), lambda t: torch.nn.functional.softplus(t)),
    "exp_tanh": (lambda t: t.tanh().exp(), lambda t: t.tanh().exp()),
    "cube": (lambda t: t**3.0, lambda t: t**3.0),
    "log_1p_sq": (lambda t: (t * t + 1.0).log(), lambda t: (t * t + 1.0).log()),
    "sqrt_1p_sq": (lambda t: (t * t + 1.0).sqrt(), lambda t: (t * t + 1.0).sqrt()),
    "neg": (lambda t: -t, lambda t: -t),
}
BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a * a + 1.0) ** (b.tanh() if isinstance(b, Tensor) else torch.tanh(b)),
}
LEAVES = st.sampled_from(["x", "y", "z"]) | st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))
EXPRESSIONS = st.recursive(
    LEAVES,
    lambda inner: st.tuples(st.sampled_from(sorted(UNARY)), inner)
    | st.tuples(st.sampled_from(sorted(BINARY)), inner, inner),
    max_leaves=6,
)


def evaluate(expr, env, torch_side):
    """The expression with tensors from ``env`` (ours or torch's)."""
    if isinstance(expr, str):
        return env[expr]
    if isinstance(expr, float):
        return expr
    name, *args = expr
    values = [evaluate(a, env, torch_side) for a in args]
    if not any(isinstance(v, Tensor | torch.Tensor) for v in values):  # constants only
        values[0] = torch.tensor(values[0], dtype=torch.float64) if torch_side else Tensor(values[0])
    if name in UNARY:
        return UNARY[name][1 if torch_side else 0](values[0])
    a, b = values
    if not isinstance(b, Tensor | torch.Tensor):  # ops like pow need a tensor on the right
        b = torch.tensor(b, dtype=torch.float64) if torch_side else Tensor(b)
    if not isinstance(a, Tensor | torch.Tensor):
        a = torch.tensor(a, dtype=torch.float64) if torch_side else Tensor(a)
    return BINARY[name](a, b)


def function(expr, torch_side):
    def f(x, y, z):
        out = evaluate(expr, {"x": x, "y": y, "z": z}, torch_side)
        return out * 1.0 + x * 0.0  # a tensor that depends on x, even for a constant expression
    return f


def nested(f, chain, grad):
    for argnum in chain:
        f = grad(f, argnums=argnum)
    return f


@needs_torch
@settings(max_examples=200)
@given(expr=EXPRESSIONS, chain=st.lists(st.integers(0, 2), min_size=1, max_size=3),
       point=st.tuples(*[st.floats(-1.5, 1.5, allow_nan=False)] * 3))
def test_derivatives_of_every_order_match_torch_func(expr, chain, point):
    ours = nested(function(expr, False), chain, tg.grad)(*[Tensor(v) for v in point])
    theirs = nested(function(expr, True), chain, torch_grad)(*[torch.tensor(v, dtype=torch.float64) for v in point])
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-9, abs=1e-11), (expr, chain)
    assert not ours.requires_grad  # plain numbers in, so no graph kept


@needs_torch
@settings(max_examples=100)
@given(expr=EXPRESSIONS, chain=st.lists(st.integers(0, 1), min_size=1, max_size=2),
       point=st.tuples(*[st.floats(-1.5, 1.5, allow_nan=False)] * 3))
def test_the_dependence_on_a_closed_over_tensor_matches_torch(expr, chain, point):
    """z is closed over (a tensor that requires grad): the gradient's own gradient w.r.t. z."""
    ours_z = Tensor(point[2], requires_grad=True)
    f = function(expr, False)
    g = nested(lambda x, y: f(x, y, ours_z), chain, tg.grad)(Tensor(point[0]), Tensor(point[1]))
    torch_z = torch.tensor(point[2], dtype=torch.float64, requires_grad=True)
    ft = function(expr, True)
    gt = nested(lambda x, y: ft(x, y, torch_z), chain, torch_grad)(
        *[torch.tensor(v, dtype=torch.float64) for v in point[:2]])
    assert g.item() == pytest.approx(gt.item(), rel=1e-9, abs=1e-11)
    ours_dz = g.backward() or ours_z.grad.item() if g.requires_grad else 0.0
    (theirs_dz,) = torch.autograd.grad(gt, torch_z, allow_unused=True) if gt.requires_grad else (None,)
    theirs_dz = 0.0 if theirs_dz is None else theirs_dz.item()
    assert ours_dz == pytest.approx(theirs_dz, rel=1e-9, abs=1e-11), (expr, chain)


@needs_torch
@pytest.mark.parametrize("order", [1, 2, 3])
def test_tanh_derivatives_on_a_vector_match_torch(order):
    xs = np.linspace(-3, 3, 13)
    f, ft = (lambda x: x.tanh().sum()), (lambda x: x.tanh().sum())
    for _ in range(order - 1):
        f, ft = (lambda g: lambda x: tg.grad(g)(x).sum())(f), (lambda g: lambda x: torch_grad(g)(x).sum())(ft)
    theirs = torch_grad(ft)(torch.from_numpy(xs)).numpy()
    np.testing.assert_allclose(tg.grad(f)(xs).data, theirs, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------
# Type promotion: every pair of dtypes and shapes, every operator, against PyTorch.
# ---------------------------------------------------------------------------------------
DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]
OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
    "<": operator.lt, "==": operator.eq,
    "maximum": lambda a, b: a.maximum(b) if isinstance(a, Tensor) else torch.maximum(a, b),
    "minimum": lambda a, b: a.minimum(b) if isinstance(a, Tensor) else torch.minimum(a, b),
}
# Booleans: PyTorch refuses a − b and gives bool for a ** b; we compute numpy's answer
# (booleans count as 0 and 1: int64 for −, int8 for **), on purpose.
NUMPY_FOR_BOOLEANS = {"-", "**"}


@pytest.fixture
def float64_default():
    """PyTorch with float64 as its default float, the engine's default."""
    if torch is None:
        pytest.skip("compares with PyTorch (pip install torch)")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def both(dtype, shape, value=2):
    a = np.full(shape, 1 if dtype == np.bool_ else value, dtype=dtype)
    return Tensor(a, dtype=dtype), torch.from_numpy(a.copy())


def torch_result(op, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(op(*args).dtype).removeprefix("torch.")
        except (RuntimeError, TypeError):
            return "error"


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_two_tensors_promote_as_in_pytorch(name, float64_default):
    op, checked = OPERATORS[name], 0
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        for s1, s2 in [((3,), (3,)), ((3,), ()), ((), (3,)), ((), ())]:
            (a, at), (b, bt) = both(d1, s1), both(d2, s2)
            theirs = torch_result(op, at, bt)
            if name in NUMPY_FOR_BOOLEANS and np.bool_ in (d1, d2):
                continue
            with np.errstate(all="ignore"):
                assert str(op(a, b).dtype) == theirs, (np.dtype(d1).name, s1, name, np.dtype(d2).name, s2)
            checked += 1
    assert checked == (256 if name in NUMPY_FOR_BOOLEANS else 324)  # 9 × 9 dtypes × 4 shape pairs


@pytest.mark.parametrize("name", sorted(set(OPERATORS) - {"maximum", "minimum"}))
def test_a_tensor_and_a_python_number_promote_as_in_pytorch(name, float64_default):
    op, checked = OPERATORS[name], 0
    for dtype, shape, number in itertools.product(DTYPES, [(3,), ()], [True, 3, 2.5]):
        (a, at) = both(dtype, shape)
        for ours, theirs in [(op(a, number), torch_result(op, at, number)),
                             (op(number, a), torch_result(op, number, at))]:
            if name in NUMPY_FOR_BOOLEANS and (dtype == np.bool_ or number is True):
                continue
            assert str(ours.dtype) == theirs, (np.dtype(dtype).name, shape, name, number)
            checked += 1
    assert checked == (64 if name in NUMPY_FOR_BOOLEANS else 108)  # 9 dtypes × 2 shapes × 3 numbers × 2 sides


def test_the_issues_promotion_examples():
    t = Tensor([1.0, 2.0, 3.0])
    assert ((t > 1.5) + 0.5).tolist() == [0.5, 1.5, 1.5]
    assert ((t < 3).sum() + 0.5).item() == 2.5
    assert (Tensor([1, 2], dtype=np.int64) * 0.5).tolist() == [0.5, 1.0]
    assert (Tensor([1, 2], dtype=np.int64) - Tensor([3, 1], dtype=np.int64)).dtype == np.int64


def test_a_float32_graph_stays_float32_with_a_float64_0d_tensor_and_gradients_flow_back():
    w = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    scale = Tensor(3.0, requires_grad=True)  # float64, 0-d: PyTorch keeps the float32 side
    y = (w * scale).sum()
    assert y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32 and scale.grad.dtype == np.float64
    assert w.grad.tolist() == [3.0, 3.0] and scale.grad.item() == 3.0


def test_an_integer_tensor_times_a_float_parameter_gives_the_parameter_its_gradient():
    k = Tensor([1, 2, 3], dtype=np.int32)
    w = Tensor(np.array(0.5, np.float32), requires_grad=True)
    y = (k * w).sum()
    assert y.dtype == np.float32  # float wins with its own dtype (numpy would say float64)
    y.backward()
    assert w.grad.item() == 6.0 and w.grad.dtype == np.float32
