"""tg.compile: a traced, replayed training step gives the eager engine's numbers (values and
gradients), re-traces exactly when it must, refuses what it cannot replay, and shows its code."""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.compiler import CompileError, Compiled, compile as tg_compile

TOL = {np.float64: 1e-12, np.float32: 1e-6}
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


def assert_close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert (got.shape, got.dtype) == (want.shape, want.dtype), f"{what}: {got.shape} {got.dtype}"
    np.testing.assert_allclose(got, want, rtol=TOL[np.dtype(dtype).type], atol=0, err_msg=what)


def eager_and_compiled(fn, args, leaves, dtype, calls=3, change=None):
    """Run ``fn`` eagerly and compiled ``calls`` times (``change()`` alters the parameters in
    place between calls, as an optimiser step does) and compare outputs and every leaf's grad."""
    fast = tg_compile(fn)
    for call in range(calls):
        for t in leaves:
            t.grad = None
        want = fn(*args)
        want.backward(np.ones(want.shape, dtype=want.dtype))
        want_grads = [None if t.grad is None else t.grad.data.copy() for t in leaves]
        for t in leaves:
            t.grad = None
        got = fast(*args)
        assert type(got.op) is Compiled
        got.backward(np.ones(got.shape, dtype=got.dtype))
        assert_close(got.data, want.data, dtype, f"call {call}: output")
        for i, (t, w) in enumerate(zip(leaves, want_grads)):
            assert (t.grad is None) == (w is None), f"call {call}: grad {i} present in one run only"
            if w is not None:
                assert_close(t.grad.data, w, dtype, f"call {call}: grad of leaf {i} ({t.label})")
        if change is not None:
            change()
    assert fast.traces == 1
    return fast


def perturb(params, rng):
    def change():
        for p in params:
            p.data += rng.standard_normal(p.shape).astype(p.dtype) * 0.1
    return change


# ---------------------------------------------------------------------------------------
# Exactness.
# ---------------------------------------------------------------------------------------
def test_xor_step_is_bit_for_bit_the_eager_step():
    tg.manual_seed(0)
    model = nn.MLP([2, 8, 1])
    X, y = Tensor(XOR_X), Tensor(XOR_Y)
    fast = tg.compile(lambda X, y: nn.mse_loss(model(X), y)) if hasattr(tg, "compile") \
        else tg_compile(lambda X, y: nn.mse_loss(model(X), y))
    for _ in range(3):
        model.zero_grad()
        want = nn.mse_loss(model(X), y)
        want.backward()
        want_grads = [p.grad.data.copy() for p in model.parameters()]
        model.zero_grad()
        got = fast(X, y)
        got.backward()
        assert got.data.tobytes() == want.data.tobytes()
        for p, w in zip(model.parameters(), want_grads):
            assert p.grad.data.tobytes() == w.tobytes()
        optim.SGD(model.parameters(), lr=0.5).step()
    assert fast.traces == 1


@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4), batch=st.integers(1, 5),
       activation=st.sampled_from(sorted(nn.ACTIVATIONS)), loss=st.sampled_from(["mse", "bce", "ce"]),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_mlp_losses_and_gradients_match_eager(sizes, batch, activation, loss, dtype, seed):
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = nn.MLP(sizes, activation=activation, dtype=dtype)
    X = Tensor((2 * rng.standard_normal((batch, sizes[0]))).astype(dtype), label="X")
    if loss == "ce":
        target = rng.integers(0, sizes[-1], size=batch)
        fn = lambda X, labels: nn.cross_entropy(model(X), labels)  # noqa: E731
    else:
        target = Tensor(rng.uniform(0, 1, (batch, sizes[-1])).astype(dtype))
        loss_fn = nn.mse_loss if loss == "mse" else nn.binary_cross_entropy_with_logits
        fn = lambda X, t: loss_fn(model(X), t)  # noqa: E731
    eager_and_compiled(fn, (X, target), model.parameters(), dtype, change=perturb(model.parameters(), rng))


SHAPE_PAIRS = [((3, 4), (4,)), ((2, 3), (2, 1)), ((1, 3), (4, 1)), ((3,), ()), ((2, 1, 3), (4, 1))]
FUNCTIONS = {  # each reads x twice or more, and y broadcast against it
    "broadcast arithmetic": lambda x, y: ((x * y + x) / (y * y + 1.0) - x).sum(),
    "used twice": lambda x, y: (x * x * x + (x + y).exp() * x).mean(),
    "sum and max over axes": lambda x, y: (x.sum(axis=0, keepdims=True)
                                           * (x + y).max(axis=-1, keepdims=True)).sum(),
    "min, abs, clip": lambda x, y: ((x + y).min() + x.abs().sum() + x.clip(-0.5, 0.5).sum()),
    "maximum and minimum": lambda x, y: (tg.maximum(x, y) - tg.minimum(x, 0.0) * y).sum(),
    "softmax family": lambda x, y: ((x + y).softmax(axis=-1) * x).sum() + (x + y).log_softmax(axis=0).sum()
    + (x * y).logsumexp(),
    "where on a mask": lambda x, y: tg.where(x > y, x * 2.0, y - x).sum(),
    "pow, sqrt, log": lambda x, y: ((x * x + 1.0) ** 1.5 + (x * x + y * y + 0.1).sqrt()
                                    + (x * x + 1.0).log()).sum(),
    "activations": lambda x, y: (x.relu() + x.elu() + x.softplus() + x.sigmoid() + x.tanh() + x.leaky_relu(0.2)
                                 + y).sum(),
    "reshape, transpose, astype": lambda x, y: (x.reshape(-1) * 2.0).sum() + (x.T * 1.5).sum() * y.sum()
    + x.astype(np.float32).astype(x.dtype).sum(),
    "indexing": lambda x, y: ((x[..., :1] * y.sum() + x[..., ::2].sum()).sum()
                              + x.reshape(-1)[np.array([0, 0, 1])].sum()),
    "detach and no_grad": lambda x, y: (x * x.detach() + y.detach()).sum() + _no_grad_part(x),
}


def _no_grad_part(x):
    with tg.no_grad():
        c = x * 3.0
    return (x * c).sum()


@given(name=st.sampled_from(sorted(FUNCTIONS)), shapes=st.sampled_from(SHAPE_PAIRS),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_ops_broadcasting_indexing_and_reductions_match_eager(name, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.uniform(-2, 2, shapes[0]).astype(dtype), requires_grad=True, label="x")
    y = Tensor(rng.uniform(-2, 2, shapes[1]).astype(dtype), requires_grad=True, label="y")
    eager_and_compiled(FUNCTIONS[name], (x, y), [x, y], dtype, change=perturb([x, y], rng))


@pytest.mark.parametrize("reuse", [True, False])
def test_new_argument_values_are_used_not_the_traced_ones(reuse):
    tg.manual_seed(1)
    model = nn.MLP([3, 4, 2])
    fast = tg_compile(lambda X, labels: nn.cross_entropy(model(X), labels), optimize={"reuse": reuse})
    rng = np.random.default_rng(0)
    for _ in range(3):
        X = Tensor(rng.standard_normal((5, 3)))
        labels = rng.integers(0, 2, size=5)
        assert fast(X, labels).data == nn.cross_entropy(model(X), labels).data
    assert fast.traces == 1


def test_every_pass_off_gives_the_same_numbers():
    tg.manual_seed(3)
    model = nn.MLP([3, 5, 5, 2], activation="elu")
    X = Tensor(np.random.default_rng(3).standard_normal((4, 3)))
    labels = np.array([0, 1, 1, 0])
    results = []
    for optimize in [True, False, {"fold": False}, {"simplify": False}, {"cse": False}, {"dce": False},
                     {"reuse": False}]:
        model.zero_grad()
        fast = tg_compile(lambda X, labels: nn.cross_entropy(model(X), labels), optimize=optimize)
        loss = fast(X, labels)
        loss.backward()
        results.append([loss.data] + [p.grad.data for p in model.parameters()])
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------------------------------
# A compiled call in the graph.
# ---------------------------------------------------------------------------------------
def test_backward_accumulates_into_grad_like_eager():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    fast = tg_compile(lambda x: (x * x).sum())
    fast(x).backward()
    fast(x).backward()
    np.testing.assert_array_equal(x.grad.data, 4 * x.data)


def test_gradient_flows_through_a_compiled_call_into_the_graph_before_it():
    w = Tensor([0.5, -1.5], requires_grad=True)
    fast = tg_compile(lambda h: (h * h).sum())
    fast(w * 3.0).backward()
    np.testing.assert_allclose(w.grad.data, 18 * w.data)


def test_parameter_changed_in_place_between_forward_and_backward_is_refused():
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    opt = optim.SGD(model.parameters(), lr=0.1)
    fast = tg_compile(lambda X, y: nn.mse_loss(model(X), y))
    loss = fast(Tensor(XOR_X), Tensor(XOR_Y))
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_load_state_dict_between_calls_is_seen():
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    fast = tg_compile(lambda X: model(X).sum())
    X = Tensor(XOR_X)
    fast(X)
    state = {k: v * 0 + 0.25 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert fast(X).data == model(X).sum().data
    assert fast.traces == 1


# ---------------------------------------------------------------------------------------
# Guards: when a new trace is made.
# ---------------------------------------------------------------------------------------
def test_new_trace_when_shape_dtype_or_requires_grad_changes():
    fast = tg_compile(lambda x: (x * x).sum())
    fast(Tensor(np.ones(3), requires_grad=True))
    fast(Tensor(np.zeros(3), requires_grad=True))
    assert fast.traces == 1
    fast(Tensor(np.ones(4), requires_grad=True))
    assert fast.traces == 2
    fast(Tensor(np.ones(4, dtype=np.float32), requires_grad=True))
    assert fast.traces == 3
    out = fast(Tensor(np.ones(4, dtype=np.float32)))
    assert fast.traces == 4 and not out.requires_grad
    with tg.no_grad():
        fast(Tensor(np.ones(3), requires_grad=True))
    assert fast.traces == 5


def test_new_trace_when_the_function_reads_different_tensors():
    tg.manual_seed(0)
    holder = {"model": nn.MLP([2, 3, 1])}
    fast = tg_compile(lambda X: holder["model"](X).sum())
    X = Tensor(XOR_X)
    fast(X)
    holder["model"].layers[0].weight.requires_grad = False  # a frozen layer: another backward
    fast(X)
    assert fast.traces == 2
    holder["model"] = nn.MLP([2, 3, 1])  # another model of the same shape: other tensors
    out = fast(X)
    assert fast.traces == 3
    assert out.data == holder["model"](X).sum().data
    holder["model"].layers.modules.append(nn.ReLU())  # a layer appended in place
    fast(X)
    assert fast.traces == 4


def test_a_batch_the_function_reads_from_an_attribute_may_be_a_new_tensor_each_call():
    tg.manual_seed(0)

    class Trainer:
        def __init__(self):
            self.model, self.X = nn.MLP([2, 3, 1]), Tensor(XOR_X)

    trainer = Trainer()
    fast = tg_compile(lambda: trainer.model(trainer.X).sum())
    fast()
    trainer.X = Tensor(XOR_X[::-1] * 2.0)  # the next batch: another tensor, same shape
    assert fast().data == trainer.model(trainer.X).sum().data
    assert fast.traces == 1


def test_a_function_traced_again_and_again_gets_a_warning():
    fast = tg_compile(lambda x: x.sum())
    with pytest.warns(RuntimeWarning, match="traced the function 8 times"):
        for n in range(1, 10):
            fast(Tensor(np.ones(n), requires_grad=True))


def test_tied_weights_stay_one_tensor_or_are_traced_again():
    class Tied(nn.Module):
        def __init__(self):
            self.a = self.b = Tensor([1.0, 2.0], requires_grad=True)

        def forward(self, x):
            return (x * self.a * self.b).sum()

    model = Tied()
    fast = tg_compile(lambda x: model(x))
    x = Tensor([3.0, 4.0])
    fast(x).backward()
    np.testing.assert_array_equal(model.a.grad.data, 2 * x.data * model.a.data)
    model.b = Tensor([5.0, 6.0], requires_grad=True)  # untied: now two tensors
    assert fast(x).data == model(x).data
    assert fast.traces == 2


def test_keyword_arguments_and_converted_arrays():
    fast = tg_compile(lambda x, a, scale=None: (x * Tensor(a.astype(np.float32)) * scale).sum())
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    s = Tensor(np.float32(2.0))
    a = np.array([1.0, 2.0])
    assert fast(x, a, scale=s).data == 6.0
    assert fast(x, a.copy(), scale=Tensor(np.float32(3.0))).data == 9.0  # same values: same trace
    assert fast.traces == 1
    assert fast(x, np.array([5.0, 5.0]), scale=s).data == 20.0  # converted inside: its values are guarded
    assert fast.traces == 2


def test_a_python_number_argument_is_part_of_the_trace():
    fast = tg_compile(lambda x, k: (x * k).sum())
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert fast(x, 2.0).data == 6.0
    assert fast(x, 3.0).data == 9.0
    assert fast.traces == 2


def test_a_compiled_function_called_inside_another_is_part_of_its_trace():
    inner = tg_compile(lambda x: (x * 2.0).exp())
    outer = tg_compile(lambda x: inner(x).sum())
    x = Tensor([0.1, 0.2], requires_grad=True)
    out = outer(x)
    out.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(2 * x.data))
    assert inner.traces == 0 and "exp" in outer.source


# ---------------------------------------------------------------------------------------
# What cannot be replayed is refused, saying where.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, call", [
    (lambda x: x * x.sum().item(), "item()"),
    (lambda x: x * float(x.sum()), "float()"),
    (lambda x: x if x.sum() > 0 else -x, "bool()"),
    (lambda x: x * x.numpy().sum(), "numpy()"),
    (lambda x: x * len(x.tolist()), "tolist()"),
])
def test_reading_a_value_while_traced_is_refused_naming_the_call_and_line(body, call):
    fast = tg_compile(body)
    with pytest.raises(CompileError) as err:
        fast(Tensor([1.0, 2.0], requires_grad=True))
    message = str(err.value)
    assert call in message and "test_compile.py" in message and "outside" in message


def test_side_effects_while_traced_are_refused():
    tg.manual_seed(0)
    model = nn.MLP([2, 1])
    opt = optim.SGD(model.parameters(), lr=0.1)

    def whole_step(X):
        loss = model(X).sum()
        loss.backward()
        opt.step()
        return loss

    with pytest.raises(CompileError, match="backward|in place"):
        tg_compile(whole_step)(Tensor(XOR_X))
    with pytest.raises(CompileError, match="random"):
        tg_compile(lambda x: x * Tensor(tg.random.generator().random(2)))(Tensor([1.0, 2.0]))


def test_in_detect_anomaly_a_compiled_function_runs_eagerly_and_names_the_op():
    fast = tg_compile(lambda x: (x.log() * 2.0).sum())
    x = Tensor([1.0, -1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        fast(x)
        with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="'log'"):
            fast(x)
    assert fast.traces == 1


def test_a_function_that_returns_no_tensor_is_refused():
    with pytest.raises(CompileError, match="one Tensor"):
        tg_compile(lambda x: (x.sum(), x))(Tensor([1.0]))


def test_higher_order_through_a_compiled_call_is_refused_clearly():
    w = Tensor([0.5, 1.0], requires_grad=True)
    fast = tg_compile(lambda x: (x * x * w).sum())
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(CompileError, match="create_graph.*uncompiled"):
        fast(x).backward(create_graph=True)
    with pytest.raises(CompileError, match="cannot be recorded"):
        tg.grad(fast)(x)


def test_optimize_settings_are_checked():
    with pytest.raises(ValueError, match="unknown pass.*'fuse'"):
        tg_compile(lambda x: x, optimize={"fuse": True})
    with pytest.raises(TypeError, match="optimize must be"):
        tg_compile(lambda x: x, optimize="all")
    with pytest.raises(TypeError, match="expected a function"):
        tg_compile(3)


def test_indexing_with_a_computed_boolean_mask_is_refused():
    fast = tg_compile(lambda x: x[x > 0].sum())
    with pytest.raises(CompileError, match="boolean mask.*test_compile.py.*tg.where"):
        fast(Tensor([1.0, -2.0, 3.0], requires_grad=True))
    mask = np.array([True, False, True])  # a constant mask: the shape is fixed, so it is fine
    fast = tg_compile(lambda x: x[mask].sum())
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    fast(x).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])


def test_draw_graph_shows_a_compiled_call_as_one_node_and_expand_opens_it():
    model = nn.MLP([2, 3, 1])
    X, y = tg.datasets.xor()
    fast = tg.compile(lambda X, y: nn.mse_loss(model(X).reshape(-1), y))
    loss = fast(tg.Tensor(X), tg.Tensor(y.astype(float)))
    loss.backward()
    collapsed = tg.draw_graph(loss).source
    opened = tg.draw_graph(loss, expand=True).source
    assert "matmul" not in collapsed and "&lt;=" not in collapsed  # one node for the whole call
    assert "matmul" in opened and "&lt;=" in opened  # the traced primitives, the relu mask included
