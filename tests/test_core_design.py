"""The core's design, as a specification: one kind of value, every value from an op,
modes per thread and re-entrant, files that show the architecture, a Tensor that behaves
like a number where one is expected."""
import ast
import inspect
import re
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, composites, nn, ops, optim, tensor

PACKAGE = Path(tg.__file__).parent
ROOT = PACKAGE.parent


# ---------------------------------------------------------------------------------------
# 1. One kind of value: rules get and return Tensors; the walk fits on a screen.
# ---------------------------------------------------------------------------------------
def test_backward_rules_receive_and_return_tensors():
    seen = []

    class Spy(ops.Op):
        def forward(self, x):
            return x * 2.0

        def backward(self, g, z, x):  # ∂z/∂x = 2
            seen.append((type(g), type(z), type(x), tg.is_grad_enabled()))
            return (g * 2.0,)

    x = Tensor([1.0, 2.0], requires_grad=True)
    Spy.apply(x).sum().backward()
    assert seen == [(Tensor, Tensor, Tensor, False)]  # grad mode off: nothing recorded
    assert isinstance(x.grad, Tensor) and x.grad.tolist() == [2.0, 2.0]
    Spy.apply(x).sum().backward(create_graph=True)
    assert seen[-1] == (Tensor, Tensor, Tensor, True)  # recorded, so it can be differentiated


def test_a_custom_op_may_keep_state_from_forward():
    class Scale(ops.Op):
        def forward(self, x, k):
            self.k = k
            return x * k

        def backward(self, g, z, x):  # ∂z/∂x = k
            return (g * self.k,)

    assert tg.gradcheck(lambda x: Scale.apply(x, k=3.0), np.array([0.5, -1.0]))


def test_the_walk_fits_on_a_screen_and_the_tutorial_quotes_it_verbatim():
    source = inspect.getsource(tensor.backprop)
    assert 15 <= len(source.splitlines()) <= 25
    assert source in (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")


def test_no_ndarray_path_is_left_in_ops():
    for gone in ("values", "expand", "scatter_add", "cast", "log"):
        assert not hasattr(ops, gone), f"ops.{gone} was a helper of the ndarray path"


# ---------------------------------------------------------------------------------------
# 2. Every value comes from an op.
# ---------------------------------------------------------------------------------------
def test_no_composite_reads_data():
    for path in ("composites.py", "nn.py", "losses.py"):
        tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "composite" for d in fn.decorator_list):
                reads = [n for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr == "data"]
                assert not reads, f"{path}: composite {fn.name} reads .data"


def test_relu_records_its_mask_and_the_picture_shows_the_mask_feeding_the_where():
    """ReLU is where(z <= 0, 0, z): the mask z <= 0 (not z > 0, so that relu(nan) is nan as
    in PyTorch) is a recorded comparison, and the expanded picture draws it."""
    z = Tensor([-1.0, 2.0], requires_grad=True, label="z")
    h = z.relu()
    cond, zero, x = h.op.parents
    assert isinstance(h.op, ops.Where) and x is z and zero.tolist() == 0.0
    assert isinstance(cond.op, ops.LessEqual) and cond.op.parents[0] is z and cond.tolist() == [True, False]
    dot = tg.draw_graph(h, expand=True).source
    compare = re.search(r'(op\d+) \[label="&lt;="', dot).group(1)
    where = re.search(r"(op\d+) \[label=where", dot).group(1)
    mask = re.search(rf"{compare} -> (v\d+)", dot).group(1)
    assert f"{mask} -> {where}" in dot  # z <= 0 feeds the where


@pytest.mark.parametrize("fn, name", [(lambda x: x.softplus(), "softplus"),
                                      (lambda x: x.logsumexp(), "logsumexp"),
                                      (lambda x: x.clip(-1.0, 1.0), "clip")])
def test_data_dependent_constants_are_computed_by_ops_on_detached_values(fn, name, monkeypatch):
    """Replaying the graph with new inputs must not need the old values: the constant
    follows the input (computed when called, from ops), and no gradient flows through it."""
    x = Tensor([-3.0, 0.5, 4.0], requires_grad=True)
    calls = []
    orig = ops.Op.apply.__func__
    monkeypatch.setattr(ops.Op, "apply", classmethod(lambda cls, *a, **k: calls.append(cls.name) or orig(cls, *a, **k)))
    fn(x)
    assert calls  # every value came from an op
    assert {"maximum", "max", "where"} & set(calls), name


# ---------------------------------------------------------------------------------------
# 3. State that is safe: per thread, re-entrant, restored after exceptions.
# ---------------------------------------------------------------------------------------
def test_no_grad_on_a_recursive_function():
    @tg.no_grad()
    def depth(n):
        assert not tg.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5
    assert tg.is_grad_enabled()


@pytest.mark.parametrize("make, attribute, inside", [
    (tg.no_grad, tg.is_grad_enabled, False),
    (tg.enable_grad, tg.is_grad_enabled, True),
    (tg.detect_anomaly, lambda: tg.modes.is_anomaly_enabled(), True),
])
def test_one_instance_entered_twice_restores_the_state(make, attribute, inside):
    outer = not inside
    ctx = make()
    with tg.set_grad_enabled(outer) if attribute is tg.is_grad_enabled else tg.no_grad():
        before = attribute()
        with ctx:
            with ctx:
                assert attribute() == inside
            assert attribute() == inside
        assert attribute() == before


@pytest.mark.parametrize("make", [tg.no_grad, tg.enable_grad, tg.detect_anomaly,
                                  lambda: tg.modes.Scope("f")])
def test_an_exception_inside_each_context_restores_the_state(make):
    before = (tg.is_grad_enabled(), tg.modes.is_anomaly_enabled(), tg.modes.current_scope())
    with pytest.raises(ZeroDivisionError):
        with make():
            1 / 0
    assert (tg.is_grad_enabled(), tg.modes.is_anomaly_enabled(), tg.modes.current_scope()) == before


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    inside, go_on = threading.Event(), threading.Event()

    def evaluate():
        with tg.no_grad():
            inside.set()
            go_on.wait(5)

    thread = threading.Thread(target=evaluate)
    thread.start()
    inside.wait(5)
    try:
        x = Tensor(1.0, requires_grad=True)
        assert (x * 2.0).requires_grad  # this thread still records
    finally:
        go_on.set()
        thread.join()


def test_threads_training_while_others_evaluate_under_no_grad():
    X, y = tg.datasets.xor()
    errors, unrecorded = [], []

    def train(seed):
        try:
            tg.manual_seed(seed)
            model = nn.MLP([2, 8, 1])
            opt = optim.SGD(model.parameters(), lr=0.1)
            for _ in range(300):
                loss = nn.mse_loss(model(X).reshape(-1), y.astype(float))
                if not loss.requires_grad:
                    unrecorded.append(1)
                    continue
                opt.zero_grad()
                loss.backward()
                opt.step()
        except Exception as e:  # noqa: BLE001 - report any failure in the main thread
            errors.append(e)

    def evaluate():
        model = nn.MLP([2, 8, 1])
        for _ in range(300):
            with tg.no_grad():
                assert not model(X).requires_grad

    threads = [threading.Thread(target=train, args=(s,)) for s in (0, 1)]
    threads += [threading.Thread(target=evaluate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not unrecorded


def test_a_new_thread_starts_with_the_default_modes():
    seen = []
    with tg.no_grad(), tg.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append((tg.is_grad_enabled(), tg.modes.is_anomaly_enabled())))
        t.start()
        t.join()
    assert seen == [(True, False)]


# ---------------------------------------------------------------------------------------
# 5. Files that show the architecture.
# ---------------------------------------------------------------------------------------
def test_core_files_are_short():
    for name in ("tensor.py", "ops.py", "composites.py", "methods.py", "modes.py", "convert.py"):
        n = len((PACKAGE / name).read_text(encoding="utf-8").splitlines())
        assert n <= 400, f"{name} has {n} lines"
    assert len((PACKAGE / "tensor.py").read_text(encoding="utf-8").splitlines()) <= 300


def test_no_module_imports_another_modules_private_names():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                assert not private, f"{path.relative_to(ROOT)} imports private {private} from {node.module}"


def test_one_where_and_one_converter():
    assert tg.where is ops.where and composites.where is ops.where
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "ops.py":
            assert not re.search(r"^def where\(", text, flags=re.M), path
        if path.name != "convert.py":
            assert not re.search(r"^def (_?as_array|_?lift)\(", text, flags=re.M), path


def test_speed_tricks_live_in_speed_py_with_their_measured_effect():
    from tinygrad_edu import speed

    for name in ("select", "product_in_layout_of", "collector_paused", "keep_freed_arrays_in_the_heap"):
        doc = getattr(speed, name).__doc__
        assert re.search(r"[Mm]easured: [^.]*\d", doc), f"speed.{name} does not say what it measured"


def test_product_in_layout_of_equals_the_plain_product():
    from tinygrad_edu import speed

    rng = np.random.default_rng(0)
    a, b, w = (Tensor(rng.standard_normal(s)) for s in ((80, 30), (30, 90), (90, 80)))
    got = speed.product_in_layout_of(w.T, a, b)  # w.T: a large transposed layout
    assert np.allclose(got.data, a.data @ b.data, rtol=1e-13) and got.data.flags.f_contiguous
    small = Tensor(rng.standard_normal((4, 3)))
    got = speed.product_in_layout_of(small.T, a, b)  # small: not worth the extra transposes
    assert np.allclose(got.data, a.data @ b.data, rtol=1e-13) and got.data.flags.c_contiguous


# ---------------------------------------------------------------------------------------
# 6. A Tensor that behaves like a Python number where one is expected.
# ---------------------------------------------------------------------------------------
def test_python_number_protocols_on_one_element_tensors():
    t = Tensor([[2.71828]])
    assert float(t) == 2.71828 and int(t) == 2
    assert f"{t:.3f}" == "2.718" and round(t, 2) == 2.72 and round(Tensor(2.6)) == 3
    assert abs(Tensor(-1.5)).item() == 1.5 and isinstance(abs(Tensor(-1.5)), Tensor)
    assert bool(Tensor(0.5)) and not bool(Tensor(0.0))


@pytest.mark.parametrize("convert", [float, int, lambda t: f"{t:.2f}", lambda t: round(t, 1), bool])
def test_python_number_protocols_refuse_several_elements(convert):
    with pytest.raises(ValueError, match=r"\(3,\)"):
        convert(Tensor([1.0, 2.0, 3.0]))


def test_numpy_functions_on_a_tensor_point_to_the_method():
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"t\.exp\(\)"):
        np.exp(t)
    with pytest.raises(TypeError, match=r"t\.log\(\)"):
        np.log(t)
    out = np.array([1.0, 1.0]) * t  # an ndarray operator still runs the Tensor's own op
    assert isinstance(out, Tensor) and out.requires_grad and out.tolist() == [1.0, 2.0]
    assert (np.array([3.0, 0.0]) > t).tolist() == [True, False]


def test_every_public_tensor_method_has_a_docstring_with_its_math():
    names = [n for n in dir(Tensor) if not n.startswith("_") and callable(getattr(Tensor, n))]
    assert len(names) >= 29
    missing = [n for n in names if not (getattr(Tensor, n).__doc__ or "").strip()]
    assert not missing, f"no docstring: {missing}"
    for name in ("relu", "elu", "leaky_relu", "abs"):
        assert re.search(r"'\(0\)", getattr(Tensor, name).__doc__), f"{name}: the convention at the kink"
