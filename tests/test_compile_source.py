"""tg.compile's code and pictures: the source is readable numpy that runs on its own and gives
the same numbers, names come from labels and parameters (sanitised), each optimisation pass
does what it says, the compiled program can be drawn, and a compiled call is drawn as one node
that opens up into the traced graph."""
import re

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.compiler import compile as tg_compile
from tinygrad_edu.compiler_codegen import BINARY, CALLS
from tinygrad_edu.compiler_draw import expand_compiled_calls

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


def xor_setup():
    tg.manual_seed(0)
    model = nn.MLP([2, 8, 1])
    fast = tg_compile(lambda X, y: nn.mse_loss(model(X), y))
    return model, fast, Tensor(XOR_X), Tensor(XOR_Y)


def test_source_run_in_a_fresh_namespace_gives_the_same_numbers():
    model, fast, X, y = xor_setup()
    loss = fast(X, y)
    loss.backward()
    namespace = {}
    exec(fast.source, namespace)  # noqa: S102
    out, saved = namespace["forward"](X.data, y.data, *[p.data for p in model.parameters()])
    grads = namespace["backward"](np.ones(()), *saved)
    assert out == loss.data
    assert grads[:2] == (None, None)
    for g, p in zip(grads[2:], model.parameters()):
        np.testing.assert_array_equal(g, p.grad.data)


def test_source_is_one_numpy_call_per_line_named_and_commented():
    model, fast, X, y = xor_setup()
    fast(X, y)
    src = fast.source
    assert "def forward(X, y, layers_0_weight, layers_0_bias, layers_2_weight, layers_2_bias):" in src
    assert "def backward(d_mse_loss," in src
    body = [line for line in src.splitlines() if line.startswith("    ") and "=" in line]
    assert all("  # " in line for line in body)
    assert all(line.count("(") <= 2 for line in body)  # one call (and a tuple) per line
    assert "d_layers_0_weight" in src and "backward of where in relu" in src


def test_labels_become_identifiers_and_are_never_spliced_into_code():
    evil = "x = 1); import os; os.system('echo hacked') #"
    w = Tensor([1.0, 2.0], requires_grad=True, label=evil)

    def f(x):
        h = x * w
        h.label = "ĥ idden 1"
        return (h * h).sum()

    fast = tg_compile(f)
    fast(Tensor([3.0, 4.0]))
    assert "def forward(x, x_1_import_os_os_system_echo_hac):" in fast.source
    assert re.search(r"^    h_idden_1 = x \* x_1_import_os_os_system_echo_hac ", fast.source, re.M)
    assert "os.system(" not in fast.source and "'" not in fast.source


def test_each_pass_changes_the_program_as_described():
    def f(x):
        unused = (x * 3.0).exp()  # noqa: F841 - dead code
        k = Tensor(2.0) * Tensor(3.0)  # a constant
        return (x * k + x * k).sum()  # x * k twice

    x = Tensor([1.0, 2.0], requires_grad=True)
    plain, full = tg_compile(f, optimize=False), tg_compile(f)
    plain(x), full(x)
    assert "np.exp" in plain.source and "np.exp" not in full.source  # dce
    assert "= c1 * c2" in plain.source and "= x * 6.0" in full.source  # fold
    assert plain.source.count("= x * t3") == 2 and full.source.count("= x * 6.0") == 1  # cse
    assert "# Passes: none." in plain.source
    assert "fold removed 1" in full.source and "cse removed 2" in full.source

    sub = lambda a, b: (a - b).sum()  # noqa: E731
    plain, full = tg_compile(sub, optimize=False), tg_compile(sub)
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 5.0], requires_grad=True)
    plain(a, b), full(a, b)
    assert "= b * -1.0" in plain.source and "np.subtract" not in plain.source
    assert re.search(r"= a - b +# x \+ y·\(−1\) = x − y", full.source)  # simplify


def test_reuse_writes_into_dead_buffers_and_frees_large_values():
    tg.manual_seed(0)
    model = nn.MLP([64, 128, 10])
    X = Tensor(np.random.default_rng(0).standard_normal((64, 64)))
    fast = tg_compile(lambda X: model(X).relu().sum())
    fast(X)
    assert "out=" in fast.source and "del " in fast.source
    off = tg_compile(lambda X: model(X).relu().sum(), optimize={"reuse": False})
    off(X)
    assert "out=" not in off.source and "del " not in off.source


def test_the_program_picture_has_a_box_per_line():
    model, fast, X, y = xor_setup()
    fast(X, y)
    dot = fast.draw().source
    n_lines = len(fast.latest.program.steps)
    assert dot.count(" = ") >= n_lines and "backward" in dot and "style=dashed" in dot


def _template_cases():
    """Functions that between them run every op that has a line of its own in the code."""
    rows, labels = np.array([0, 1, 2]), np.array([1, 0, 1])
    return [
        lambda x, y: ((x + y) * (x / (y * y + 1.0)) ** 2.0).sum(),
        lambda x, y: (tg.maximum(x, y).exp() + (x * x + 1.0).log()).sum(),
        lambda x, y: sum(tg.where(c, x, y).sum() for c in (x < y, x <= y, x > y, x >= y, x == y, x != y)),
        lambda x, y: x.sum(axis=0).sum() + x.max(axis=1, keepdims=True).sum() + (x.T @ x).sum(),
        lambda x, y: x.reshape(-1).expand(2, 6).sum() + x.astype(np.float32).astype(np.float64).sum(),
        lambda x, y: x[1:, :1].sum() + x[rows, labels].sum() + x[np.array([0, 0, 2])].sum() + x.detach().sum(),
        lambda x, y: (x - y).sum(),
    ]


def test_every_op_with_a_line_of_its_own_computes_what_its_forward_computes():
    from tinygrad_edu import ops
    rng = np.random.default_rng(0)
    seen = set()
    for fn in _template_cases():
        for optimize in (False, True):
            x = Tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)
            y = Tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)
            fast = tg_compile(fn, optimize=optimize)
            got = fast(x, y)
            got.backward()
            grads = [None if t.grad is None else t.grad.data.tobytes() for t in (x, y)]
            x.grad = y.grad = None
            want = fn(x, y)
            want.backward()
            assert got.data.tobytes() == want.data.tobytes()
            assert grads == [None if t.grad is None else t.grad.data.tobytes() for t in (x, y)]
            assert "given in the namespace" not in fast.source  # no op fell back to its forward()
            seen |= {type(v.op) for v in fast.latest.program.steps}
    big = Tensor(rng.uniform(-2, 2, (64, 128)), requires_grad=True)
    fast = tg_compile(lambda x: x.relu().sum())  # a large where(c, 0, x): not c, then select
    got = fast(big)
    got.backward()
    grad = big.grad.data.tobytes()
    big.grad = None
    fast.fn(big).backward()
    assert got.data == fast.fn(big).data and grad == big.grad.data.tobytes()
    seen |= {type(v.op) for v in fast.latest.program.steps}
    templated = set(BINARY) | set(CALLS) | {ops.Pow, ops.MatMul, ops.Where, ops.Sum, ops.Max, ops.Reshape,
                                            ops.Transpose, ops.Expand, ops.Cast, ops.Detach, ops.GetItem,
                                            ops.ScatterAdd}
    assert templated <= seen, f"never exercised: {templated - seen}"


def test_an_op_without_a_line_of_its_own_runs_its_forward_and_says_so():
    if not hasattr(Tensor, "sin") or not hasattr(Tensor, "cumsum"):
        return  # the breadth ops are not in this checkout
    x = Tensor([0.3, 0.5, 0.7], requires_grad=True)
    fast = tg_compile(lambda x: (x.sin() * x.cumsum(axis=0)).sum())
    got = fast(x)
    got.backward()
    grad = x.grad.data.copy()
    x.grad = None
    want = fast.fn(x)
    want.backward()
    assert got.data == want.data and grad.tobytes() == x.grad.data.tobytes()
    assert re.search(r"# op1: the op 'sin' \(Sin\), which has no line of its own here", fast.source)
    assert "= op1.forward(x)" in fast.source


def test_the_compiler_page_runs_and_prints_what_it_shows(monkeypatch):
    """docs/compiler.md: its Python blocks run in order as one program, and each ```text
    block right after a Python block is exactly what that block printed."""
    import contextlib
    import io
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "compiler.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w+)\n(.*?)```\n", page, re.S)
    namespace, checked = {}, 0
    for (kind, body), (next_kind, next_body) in zip(blocks, blocks[1:] + [("", "")]):
        if kind != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, "docs/compiler.md", "exec"), namespace)  # noqa: S102
        if next_kind == "text" and page.index(next_body) - page.index(body) - len(body) < 20:
            assert out.getvalue().rstrip() == next_body.rstrip()
            checked += 1
    assert checked >= 7


def test_a_compiled_call_is_one_node_named_after_the_function():
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])

    def xor_loss(X, y):
        return nn.mse_loss(model(X), y)

    loss = tg_compile(xor_loss)(Tensor(XOR_X), Tensor(XOR_Y))
    assert loss.op.name == "xor_loss"
    assert {id(p) for p in model.parameters()} <= {id(p) for p in loss.op.parents}
    assert all(p.op is None for p in loss.op.parents)
    ops_drawn = re.findall(r"op\d+ \[label=(\w+)", tg.draw_graph(loss).source)
    assert ops_drawn == ["xor_loss"]


def test_expanding_a_compiled_call_gives_the_eager_graph():
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    X, y = Tensor(XOR_X), Tensor(XOR_Y)
    loss = tg_compile(lambda X, y: nn.mse_loss(model(X), y))(X, y) * 2.0
    expanded = expand_compiled_calls(loss)
    eager = nn.mse_loss(model(X), y) * 2.0
    assert expanded.data == eager.data
    drawn = tg.draw_graph(expanded, expand=True).source
    assert drawn.count("matmul") == tg.draw_graph(eager, expand=True).source.count("matmul") == 2
    assert "mse_loss" in tg.draw_graph(expanded).source  # collapsed again without expand
