"""Semantics of the Tensor and of backward(): construction, dtypes, accumulation, the graph
walk, memory, modes, conventions at kinks and ties, numerical stability, and errors."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, ops


def g(t):
    return np.asarray(t.grad)


# ---------------------------------------------------------------------------------------
# Construction and conversion.
# ---------------------------------------------------------------------------------------
def test_construction_dtypes():
    assert Tensor(1).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.float64
    assert Tensor([True, False]).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float64
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.float32(2)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor(Tensor([1.0])).tolist() == [1.0]


def test_array_protocol_and_accessors():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], label="m")
    assert np.asarray(t) is t.data and t.numpy() is t.data
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 2), 2, 4, 2)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert Tensor([[5.0]]).item() == 5.0
    assert repr(Tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    assert "label='m'" in repr(t)
    assert "dtype=float32" in repr(Tensor(np.zeros(1, np.float32)))


@pytest.mark.parametrize(
    "bad, words",
    [
        ([[1.0, 2.0], [3.0]], ["ragged"]),
        ("abc", ["str"]),
        ([["a", "b"]], ["numeric", "<U1"]),
        (object(), ["object"]),
        ({"a": 1}, ["dict"]),
        (np.array([1 + 2j]), ["complex"]),
    ],
)
def test_bad_data_is_a_clear_error(bad, words):
    with pytest.raises((TypeError, ValueError)) as e:
        Tensor(bad)
    assert "Tensor()" in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_item_on_many_elements_names_the_shape():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\)"):
        Tensor(np.zeros((2, 3))).item()


def test_comparisons_are_recorded_but_never_require_grad():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c, symbol in ((x < 2, "<"), (x <= 2, "<="), (x > 2, ">"), (x >= 2, ">="), (x == 2, "=="), (x != 2, "!=")):
        assert c.dtype == np.bool_ and not c.requires_grad
        assert c.op.symbol == symbol and c.op.parents[0] is x
    assert (x > 1.5).tolist() == [False, True, True]


def test_numpy_operands_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.array([1.0, 1.0]) - x / np.array([2.0, 2.0])
    assert isinstance(y, Tensor)
    y.sum().backward()
    assert np.allclose(g(x), [2.5, 3.5])


# ---------------------------------------------------------------------------------------
# backward(): seeding, accumulation, every node's grad.
# ---------------------------------------------------------------------------------------
def test_tensor_used_twice_gets_the_sum():
    a = Tensor(3.0, requires_grad=True)
    (a * a + a).backward()  # d/da (a² + a) = 2a + 1
    assert g(a) == 7.0


def test_second_backward_accumulates_and_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    assert np.allclose(g(x), 2 * 2 * np.array([1.0, 2.0]))
    x.grad = None
    (x * 3).sum().backward()
    assert np.allclose(g(x), [3.0, 3.0])


def test_intermediates_hold_their_grad():
    x = Tensor([1.0, -2.0], requires_grad=True, label="x")
    h = x * 3.0
    y = h.relu()
    loss = y.sum()
    loss.backward()
    assert np.allclose(g(loss), 1.0)
    assert np.allclose(g(y), [1.0, 1.0])
    assert np.allclose(g(h), [1.0, 0.0])
    assert np.allclose(g(x), [3.0, 0.0])


def test_broadcast_gradients_are_summed_back():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.arange(4.0), requires_grad=True)
    c = Tensor(np.ones((3, 1)), requires_grad=True)
    s = Tensor(2.0, requires_grad=True)
    w = np.arange(12.0).reshape(3, 4)
    ((x * b + c) * s * w).sum().backward()
    assert g(b).shape == (4,) and np.allclose(g(b), (2 * w).sum(0))
    assert g(c).shape == (3, 1) and np.allclose(g(c), (2 * w).sum(1, keepdims=True))
    assert g(s).shape == () and np.isclose(g(s), ((np.arange(4.0) + 1) * w).sum())


def test_backward_with_a_gradient():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=np.array([1.0, 0.0, -1.0]))
    assert np.allclose(g(x), [2.0, 0.0, -6.0])
    x.grad = None
    (x * 2).backward(Tensor([1.0, 1.0, 1.0]))
    assert np.allclose(g(x), 2.0)


def test_backward_errors_are_clear():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient="):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\).*shape \(2,\)"):
        (x * 2).backward(gradient=np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.op is None
    y = (x * d).sum()
    y.backward()
    assert np.allclose(g(x), [2.0, 4.0])  # d is a constant
    x2 = x.detach()
    assert x2.data is x.data


def test_constants_get_no_grad():
    x = Tensor([1.0], requires_grad=True)
    c = Tensor([5.0])
    (x * c).sum().backward()
    assert c.grad is None


# ---------------------------------------------------------------------------------------
# The graph walk: iterative, linear, no reference cycles.
# ---------------------------------------------------------------------------------------
def test_a_100000_op_chain_backpropagates():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):  # two ops per step: 100,000 ops
        y = y * 1.0001 + 0.001
    y.backward()
    assert np.isclose(g(x), 1.0001**50_000, rtol=1e-9)
    del y  # dropping a 100,000-deep chain must not overflow the C stack either


def test_topological_order_puts_inputs_first():
    x = Tensor(2.0, requires_grad=True)
    a = x * 3
    b = a + x
    c = b * a
    order = tg.tensor.topological_order(c)
    pos = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for p in (t.op.parents if t.op else ()):
            if p.requires_grad:
                assert pos[id(p)] < pos[id(t)]
    assert len(order) == 4


def test_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones((2, 3)), requires_grad=True)
        w = Tensor(np.ones((3, 4)), requires_grad=True)
        h = (x @ w).relu()
        loss = h.softplus().mean() + h.log_softmax().sum()
        loss.backward()
        # tensors take no weak references (six slots, see tensor.py): watch their ops and arrays
        refs = [weakref.ref(t.data) for t in tg.tensor.topological_order(loss) if t is not x and t is not w]
        refs += [weakref.ref(t.op) for t in tg.tensor.topological_order(loss) if t.op is not None]
        assert len(refs) > 10 and all(r() is not None for r in refs)
        del h, loss
        assert all(r() is None for r in refs), "something in the graph is kept alive by a cycle"
        assert x.grad is not None and w.grad is not None
    finally:
        gc.enable()


def test_no_graph_is_kept_under_no_grad():
    x = Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert y.op is None and not y.requires_grad

    @tg.no_grad()
    def f(t):
        return t.exp()

    assert f(x).op is None
    assert tg.is_grad_enabled()


def test_the_backward_pass_records_nothing_without_create_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x.exp() * x).sum().backward()
    assert x.grad.op is None and not x.grad.requires_grad


# ---------------------------------------------------------------------------------------
# dtypes: a float32 graph stays float32, gradients included.
# ---------------------------------------------------------------------------------------
F32_FUNCS = {
    "scalars": lambda x: x * 2.0 + 1.0 - 3 / (x * x + 1.0),
    "np.float64 scalar": lambda x: x * np.float64(2) + np.float64(1),
    "np.float64 array": lambda x: x * np.ones(3) + np.arange(3.0),
    "pow": lambda x: x**2 + 2.0**x + x.abs() ** 0.5,
    "activations": lambda x: x.relu() + x.elu() + x.softplus() + x.sigmoid() + x.tanh() + x.leaky_relu(),
    "softmax": lambda x: x.softmax() + x.log_softmax() + x.logsumexp(),
    "reductions": lambda x: x.sum() + x.mean() + x.max() + x.min(),
    "matmul": lambda x: x @ np.ones((3, 3)) @ x,
    "where/clip": lambda x: tg.where(x > 0, x, 0.5) + x.clip(-0.5, 0.5) + tg.minimum(x, 0.1) + tg.maximum(x, 0.0),
    "index": lambda x: x[[0, 0, 2]].sum() + x[1:],
}


@pytest.mark.parametrize("name", sorted(F32_FUNCS))
def test_float32_stays_float32(name):
    x = Tensor(np.array([0.5, -1.0, 2.0], np.float32), requires_grad=True)
    y = F32_FUNCS[name](x)
    assert y.dtype == np.float32
    root = y.sum() if y.size > 1 else y
    root.backward()
    for t in tg.tensor.topological_order(root):
        assert t.dtype == np.float32, t.op
        assert t.grad.dtype == np.float32, t.op
    assert x.grad.dtype == np.float32


def test_float32_second_derivative_stays_float32():
    x = Tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    d2 = tg.grad(lambda t: tg.grad(lambda s: s.tanh().sum())(t).sum())(x)
    assert d2.dtype == np.float32


# ---------------------------------------------------------------------------------------
# Conventions at kinks and ties (PyTorch's).
# ---------------------------------------------------------------------------------------
def grad_at(f, values):
    x = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    f(x).sum().backward()
    return g(x)


def test_kink_conventions():
    assert grad_at(lambda x: x.relu(), [0.0]).tolist() == [0.0]
    assert grad_at(lambda x: x.abs(), [0.0]).tolist() == [0.0]
    assert grad_at(lambda x: x.leaky_relu(0.2), [0.0]).tolist() == [0.2]
    assert grad_at(lambda x: x.elu(alpha=2.0), [0.0]).tolist() == [2.0]
    assert grad_at(lambda x: x.clip(-1.0, 1.0), [-1.0, 1.0, 2.0]).tolist() == [1.0, 1.0, 0.0]
    assert grad_at(lambda x: x.softplus(), [0.0]).tolist() == [0.5]
    assert grad_at(lambda x: x.sqrt(), [4.0]).tolist() == [0.25]


def test_maximum_and_minimum_split_ties_equally():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([1.0, 5.0, 0.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    assert g(a).tolist() == [0.5, 0.0, 1.0] and g(b).tolist() == [0.5, 1.0, 0.0]
    a.grad = b.grad = None
    tg.minimum(a, b).sum().backward()
    assert g(a).tolist() == [0.5, 1.0, 0.0] and g(b).tolist() == [0.5, 0.0, 1.0]
    # maximum(x, 0) alone would give ReLU a slope of ½ at 0: relu does not use it
    assert grad_at(lambda x: x.maximum(0.0), [0.0]).tolist() == [0.5]


def test_max_and_min_reductions_split_ties_equally():
    assert grad_at(lambda x: x.max(), [1.0, 3.0, 3.0]).tolist() == [0.0, 0.5, 0.5]
    assert grad_at(lambda x: x.min(), [2.0, 2.0, 2.0, 5.0]).tolist() == [1 / 3, 1 / 3, 1 / 3, 0.0]
    m = grad_at(lambda x: x.max(axis=1), [[1.0, 1.0], [0.0, 4.0]])
    assert m.tolist() == [[0.5, 0.5], [0.0, 1.0]]


# ---------------------------------------------------------------------------------------
# Numerical stability at ±1000 in float32 and float64: exact values, no warnings.
# ---------------------------------------------------------------------------------------
def sigmoid(v):
    return 1 / (1 + np.exp(-np.float64(v))) if v > -700 else 0.0


STABLE = {  # name: (function, exact values at [-1000, 1000], exact derivatives there)
    "relu": (lambda x: x.relu(), [0, 1000], [0, 1]),
    "elu": (lambda x: x.elu(), [-1, 1000], [0, 1]),
    "leaky_relu": (lambda x: x.leaky_relu(), [-10, 1000], [0.01, 1]),
    "softplus": (lambda x: x.softplus(), [0, 1000], [0, 1]),
    "sigmoid": (lambda x: x.sigmoid(), [0, 1], [0, 0]),
    "tanh": (lambda x: x.tanh(), [-1, 1], [0, 0]),
    "abs": (lambda x: x.abs(), [1000, 1000], [-1, 1]),
    "exp(-|x|)": (lambda x: (-x.abs()).exp(), [0, 0], [0, 0]),
    "log_softmax": (lambda x: x.log_softmax(), [-2000, 0], [-1, 1]),
    "softmax": (lambda x: x.softmax(), [0, 1], [0, 0]),
    "logsumexp": (lambda x: x.logsumexp(keepdims=True), [1000], [0, 1]),
    "min": (lambda x: x.min(keepdims=True), [-1000], [1, 0]),
    "clip": (lambda x: x.clip(-1, 1), [-1, 1], [0, 0]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_stable_at_plus_minus_1000(name, dtype):
    f, values, slopes = STABLE[name]
    x = Tensor(np.array([-1000.0, 1000.0], dtype), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y = f(x)
        # a weighted sum, so that softmax-like outputs get a gradient that is not zero
        (y * Tensor(np.array([1.0, 2.0], dtype)[: y.size])).sum().backward() if name in ("log_softmax", "softmax") else y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.allclose(y.data, values, rtol=1e-6, atol=0)
    if name in ("log_softmax", "softmax"):
        # d/dx of Σ wᵢ·f(x)ᵢ with w = (1, 2); softmax ≈ (0, 1) there
        slopes = {"log_softmax": [1 - 3 * 0.0, 2 - 3 * 1.0], "softmax": [0.0, 0.0]}[name]
    assert np.allclose(x.grad.data, slopes, rtol=1e-6, atol=0)


def test_softplus_values_from_the_api():
    assert Tensor(1000.0).softplus().item() == 1000.0
    assert abs(Tensor(-1000.0).softplus().item()) < 1e-300


# ---------------------------------------------------------------------------------------
# Errors name the op, the shapes and what was expected.
# ---------------------------------------------------------------------------------------
def test_binary_shape_errors_name_op_and_shapes():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    for op, name in [(lambda: a + b, "add"), (lambda: a * b, "mul"), (lambda: a / b, "div"),
                     (lambda: a - b, "add"), (lambda: a.maximum(b), "maximum"), (lambda: a**b, "pow")]:
        with pytest.raises(ValueError) as e:
            op()
        assert name in str(e.value) and "(2, 3)" in str(e.value) and "(4,)" in str(e.value)


def test_matmul_errors_name_the_inner_dimensions():
    with pytest.raises(ValueError) as e:
        Tensor(np.ones((4, 3))) @ Tensor(np.ones((2, 2)))
    msg = str(e.value)
    assert "(4, 3) @ (2, 2)" in msg and "3 != 2" in msg and "matmul" in msg
    with pytest.raises(ValueError, match="at least one dimension"):
        Tensor(2.0) @ Tensor(np.ones(2))


def test_other_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(IndexError, match=r"indexing.*\(2, 3\)"):
        x[5]
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range .* 2 dimension"):
        x.sum(axis=2)
    with pytest.raises(TypeError, match="operand"):
        x + "a"


# ---------------------------------------------------------------------------------------
# no_grad, grad, second derivatives.
# ---------------------------------------------------------------------------------------
def test_grad_function():
    f = lambda x, y: (x * x * y).sum()  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert np.allclose(tg.grad(f)(x, y), 2 * x * y)
    dx, dy = tg.grad(f, argnums=(0, 1))(x, y)
    assert np.allclose(dx, 2 * x * y) and np.allclose(dy, x * x)
    assert np.allclose(tg.grad(f, argnums=1)(x, y), x * x)


def test_grad_does_not_touch_dot_grad_and_works_under_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        d = tg.grad(lambda x: (x * x).sum())(w)
    assert np.allclose(d, [2.0, 4.0]) and w.grad is None


def test_grad_errors():
    with pytest.raises(ValueError, match="scalar"):
        tg.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="argnums"):
        tg.grad(lambda x: x.sum(), argnums=1)(np.ones(3))


def test_second_derivatives_closed_forms():
    xs = np.linspace(-3, 3, 13)
    d1 = tg.grad(lambda x: x.tanh().sum())
    d2 = tg.grad(lambda x: d1(x).sum())
    t = np.tanh(xs)
    assert np.allclose(d2(xs), -2 * t * (1 - t**2), atol=1e-12)
    s = 1 / (1 + np.exp(-xs))
    sp2 = tg.grad(lambda x: tg.grad(lambda y: y.softplus().sum())(x).sum())
    assert np.allclose(sp2(xs), s * (1 - s), atol=1e-12)
    assert np.allclose(tg.grad(lambda x: tg.grad(lambda y: tg.grad(lambda z: (z**3).sum())(y).sum())(x).sum())(xs), 6.0)
    d3 = tg.grad(lambda x: d2(x).sum())  # the third derivative of tanh: −2(1 − t²)(1 − 3t²)
    assert np.allclose(d3(xs).data, -2 * (1 - t**2) * (1 - 3 * t**2), atol=1e-12)


def test_hessian_vector_product_of_a_polynomial():
    # f(x) = x0² x1 + x1³ + 2 x0 x2: H = [[2x1, 2x0, 2], [2x0, 6x1, 0], [2, 0, 0]]
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = np.array([0.5, -1.0, 2.0])
    f = x[0] ** 2 * x[1] + x[1] ** 3 + 2 * x[0] * x[2]
    f.backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    x.grad = None
    (gx * v).sum().backward()
    x0, x1, _ = 1.0, 2.0, 3.0
    H = np.array([[2 * x1, 2 * x0, 2], [2 * x0, 6 * x1, 0], [2, 0, 0]])
    assert np.allclose(g(x), H @ v)


# ---------------------------------------------------------------------------------------
# detect_anomaly.
# ---------------------------------------------------------------------------------------
def test_detect_anomaly_in_forward_names_the_op():
    x = Tensor([-1.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"), tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="op 'log'.*nan"):
            x.log()
    with np.errstate(all="ignore"):
        x.log()  # outside the context nan passes silently, as numpy does


def test_detect_anomaly_in_backward_names_the_rule():
    x = Tensor([0.0, 4.0], requires_grad=True)
    y = x.sqrt().sum()  # finite forward; the slope 1/(2√x) is inf at 0
    with np.errstate(all="ignore"), tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"op 'pow' .*contains inf, while running the backward rule of 'pow' \(inside sqrt\)"):
            y.backward()
    # with create_graph the rule's own ops are recorded, so the error names the inner op too
    y = x.sqrt().sum()
    with np.errstate(all="ignore"), tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"op 'pow'.*inf.*while running the backward rule of 'pow'"):
            y.backward(create_graph=True)


# ---------------------------------------------------------------------------------------
# The checks bite: a deliberately broken rule must be caught by gradcheck.
# ---------------------------------------------------------------------------------------
class BrokenMul(ops.Mul):
    def backward(self, g, z, x, y):  # wrong on purpose: ∂z/∂x should be y, not x
        return g * x, g * x


class TransposedMatMul(ops.MatMul):
    def backward(self, g, z, x, y):  # wrong on purpose: forgets a transpose (shapes still fit for square y)
        return g @ y, x.T @ g


def test_gradcheck_catches_a_wrong_rule(rng):
    a, b = rng.standard_normal(3) + 2, rng.standard_normal(3) - 2
    assert tg.gradcheck(lambda x, y: ops.Mul.apply(x, y), a, b)
    with pytest.raises(tg.GradcheckError) as e:
        tg.gradcheck(lambda x, y: BrokenMul.apply(x, y), a, b)
    msg = str(e.value)
    assert "input 0" in msg and "analytic" in msg and "numeric" in msg


def test_gradcheck_catches_a_missing_transpose(rng):
    a, w = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    assert tg.gradcheck(lambda x, y: x @ y, a, w)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x, y: TransposedMatMul.apply(x, y), a, w)


def test_gradcheck_on_composite_built_from_broken_primitive(rng, monkeypatch):
    """Composites trust their primitives: break exp and softplus's gradient is wrong too."""
    class BrokenExp(ops.Exp):
        def backward(self, g, z, x):
            return (g * z * 1.01,)

    monkeypatch.setattr(ops, "Exp", BrokenExp)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: x.softplus(), rng.standard_normal(4))
