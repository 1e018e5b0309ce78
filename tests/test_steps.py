"""backward_steps: the engine's real order, every node once, the same gradients as backward(),
shares that add up to them, captions with the network's names and the right numbers, and a
step page that is one picture plus small per-step changes (the browser tests drive it)."""
import json
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, xor_demo
from tinygrad_edu.draw import GraphTooLarge, available_renderers
from tinygrad_edu.step_frames import frames
from tinygrad_edu.step_math import rule_comment
from tinygrad_edu.step_page import Scene
from tinygrad_edu.steps import Steps, backward_steps, write_html
from tinygrad_edu.tensor import topological_order

needs_renderer = pytest.mark.skipif(not available_renderers(), reason="no Graphviz renderer installed")


def xor_loss(seed=xor_demo.DEFAULT_SEED):
    model = xor_demo.random_start(seed)
    *_, loss = xor_demo.loss_graph(model)
    return model, loss


def check_order(root, steps):
    """Every tensor of the graph once, and each one only after all the tensors computed from it."""
    visited = [s.tensor for s in steps]
    assert len({id(t) for t in visited}) == len(visited)
    assert {id(t) for t in visited} == {id(t) for t in topological_order(root)}
    position = {id(t): k for k, t in enumerate(visited)}
    for t in visited:
        for p in t.op.parents if t.op is not None else ():
            if p.requires_grad:
                assert position[id(p)] > position[id(t)], "an input was visited before its output"
    assert visited[0] is root


def check_shares_add_up(steps):
    """The shares each tensor receives add up to its complete gradient, which backward() gives."""
    received = {}
    for s in steps:
        for x, share in s.shares:
            assert share.shape == x.shape
            received[id(x)] = received.get(id(x), 0) + share.data
    for s in steps[1:]:
        np.testing.assert_allclose(received[id(s.tensor)], s.grad.data, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("expand", [False, True])
def test_xor_steps_visit_every_node_once_and_give_backwards_gradients(expand):
    model, loss = xor_loss()
    steps = backward_steps(loss, params=xor_demo.names(model), expand=expand)
    assert isinstance(steps, Steps) and len(steps) == 15
    check_order(loss, steps)
    check_shares_add_up(steps)
    assert all(p.grad is None for p in model.parameters())  # nothing stored in .grad
    assert [s.number for s in steps] == list(range(1, 16)) and {s.total for s in steps} == {15}
    loss.backward()
    for s in steps:
        np.testing.assert_array_equal(s.grad.data, s.tensor.grad.data)


def test_a_tensor_used_twice_receives_two_shares_and_a_diamond_adds_up():
    x = Tensor([0.5, -1.5, 2.0], requires_grad=True, label="x")
    a = x * x  # x used twice by one op
    b = x.exp()  # and again by another
    out = (a + b * a).sum()
    steps = backward_steps(out, expand=True)
    check_order(out, steps)
    check_shares_add_up(steps)
    out.backward()
    grads = {id(s.tensor): s.grad.data for s in steps}
    np.testing.assert_allclose(grads[id(x)], x.grad.data)
    np.testing.assert_allclose(grads[id(x)], 2 * x.data + np.exp(x.data) * x.data**2 + np.exp(x.data) * 2 * x.data)
    square = next(s for s in steps if s.tensor is a)
    assert [p is x for p, _ in square.shares] == [True, True]  # mul(x, x) sends x two shares
    assert "once for each of its two uses: x receives two shares" in square.caption
    leaf = next(s for s in steps if s.tensor is x)
    assert "the gradient of x is complete (its 3 shares added up)" in leaf.caption


ELEMENTWISE = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "maximum": lambda a, b: tg.maximum(a, b), "pow": lambda a, b: a ** 2.0,
}


@given(st.sampled_from(sorted(ELEMENTWISE)), st.sampled_from([(3,), (2, 3), (1, 3), (2, 1)]),
       st.integers(0, 2**32 - 1))
def test_shares_add_up_and_captions_show_the_engines_numbers(name, shape_b, seed):
    rng = np.random.default_rng(seed)
    a = Tensor(rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True, label="a")
    b = Tensor(rng.uniform(0.5, 2.0, shape_b), requires_grad=True, label="b")
    out = (ELEMENTWISE[name](a, b).exp() * 0.5).sum()
    steps = backward_steps(out, expand=True)
    check_shares_add_up(steps)
    sc = Scene(steps)
    made = frames(steps, sc)
    # every arithmetic line ends with the value the engine computed for that element
    for frame in made:
        for node, lines in frame["x"]:
            for line in lines:
                assert re.search(r"= -?[\d.e+-]+(<br>|$)", line) or "seed" in line, line
    op_step = next(s for s in steps if s.tensor.op is not None and s.tensor.op.name == name.replace("pow", "pow"))
    for x, share in op_step.shares:
        frame = next(f for f in made if f["n"].startswith("backward") and
                     any(n == steps.picture.node_of[id(x)] for n, _ in f["x"]))
        lines = dict(frame["x"])[steps.picture.node_of[id(x)]]
        for k, line in zip(np.ndindex(*x.shape), lines):
            shown = float(re.search(r"= (-?[\d.e+-]+)(<br>|$)", line).group(1))
            assert shown == pytest.approx(share.data[k], rel=1e-3, abs=1e-12)


def test_xor_captions_use_the_networks_names_and_numbers():
    model, loss = xor_loss()
    steps = backward_steps(loss, params=xor_demo.names(model), expand=True)
    captions = [s.caption for s in steps]
    assert captions[0].startswith("Step 1/15: start at the output loss: ∂loss/∂loss = 1 (the seed). "
                                  "Backward rule of mul, loss = mul(Σ(ŷ − y)², 0.25)")
    matmul = next(c for c in captions if "h@w2ᵀ = matmul(h, w2ᵀ)" in c)
    assert "∂loss/∂h = ∂loss/∂(h@w2ᵀ) · w2;  ∂loss/∂w2ᵀ = hᵀ · ∂loss/∂(h@w2ᵀ)" in matmul
    where = next(c for c in captions if "Backward rule of where" in c)
    assert "where the mask z <= 0 is False, else 0" in where  # what cond is, by its name
    assert "ops.py writes" not in " ".join(captions)  # no second set of names
    made = frames(steps, Scene(steps))
    lines = [line for f in made for _, ls in f["x"] for line in ls]
    w2 = model.layers[2].weight.data
    X, y = tg.datasets.xor()
    with tg.no_grad():
        g_pred = 2 * (model(Tensor(X)).data - y.reshape(4, 1)) / 4  # ∂loss/∂ŷ of the mean squared error
    first = f"∂loss/∂h[0,1] = ∂loss/∂(h@w2ᵀ)[0,0]·w2ᵀ[1,0] = {g_pred[0, 0]:.4g} × {w2[0, 1]:.4g} = {g_pred[0, 0] * w2[0, 1]:.4g}"
    assert first in lines
    assert "ŷ − y: 2 of 2 shares: 0.165 + 0.165 = 0.3301 (complete)" in " ".join(lines)
    assert any("c was broadcast: its copies' shares add up" in line for line in lines)


def test_leaves_are_named_when_their_gradient_completes():
    model, loss = xor_loss()
    steps = backward_steps(loss, params=xor_demo.names(model), expand=True)
    made = frames(steps, Scene(steps))
    notes = [f["h"] for f in made if "stores it in" in f["h"]]
    assert [re.search(r"stores it in (\w+)\.grad", n).group(1) for n in notes] == ["b", "c", "W1", "w2"]


def test_collapsed_steps_point_at_the_call_they_run_inside():
    model, loss = xor_loss()
    steps = backward_steps(loss, params=xor_demo.names(model))
    assert sum("inside mse_loss, the backward rule of" in s.caption for s in steps) == 3
    made = frames(steps, Scene(steps))
    merged = [f for f in made if "inside mse_loss, the rules of sum, mul, add run" in f["h"]]
    assert len(merged) == 1 and merged[0]["f"] == [steps.picture.maker[id(steps[1].tensor)]]


def test_rule_comments_are_read_from_ops():
    from tinygrad_edu import ops

    assert "∂z/∂x = 1" in rule_comment(ops.Add)
    assert "Yᵀ" in rule_comment(ops.MatMul)


def test_errors_like_backward():
    with pytest.raises(RuntimeError, match="does not require grad"):
        backward_steps(Tensor([1.0]))
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="gradient"):
        backward_steps(x * 2)
    steps = backward_steps(x * 2, gradient=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(steps[-1].grad.data, [2.0, -2.0])
    with pytest.raises(TypeError, match="write_html: expected what backward_steps\\(\\) returned, got list"):
        write_html([], "x.html")


def test_a_graph_too_large_to_lay_out_is_refused_with_advice():
    x = Tensor([1.0], requires_grad=True, label="x")
    y = x
    for _ in range(600):
        y = y * 0.5 + 0.25
    with pytest.raises(GraphTooLarge, match=r"backward_steps: this graph is too large to draw: 3,603 boxes"):
        backward_steps(y.sum(), expand=True)


def chain(n):
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, label="x")
    y = x
    for _ in range(n):
        y = (y * 0.9 + 0.1).exp().log()
    return y.sum()


def test_the_steps_and_their_frames_are_linear_in_the_graphs_size():
    sizes, times = [], []
    for n in (100, 200):
        steps = backward_steps(chain(n), expand=True)
        start = time.perf_counter()
        made = frames(steps, Scene(steps))
        times.append(time.perf_counter() - start)
        sizes.append(len(json.dumps(made, ensure_ascii=False)))
        assert len(made) == 1 + (4 * n + 1) * 2  # start, each op forward, each rule backward
    assert 1.8 < sizes[1] / sizes[0] < 2.2  # twice the graph, twice the page
    assert times[1] < 1.0


@needs_renderer
def test_html_page_is_one_picture_and_small_changes(tmp_path):
    model, loss = xor_loss()
    steps = backward_steps(loss, params=xor_demo.names(model), expand=True)
    path = tmp_path / "steps.html"
    assert write_html(steps, path, title="XOR") == 24  # start, 12 forward, 11 backward
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 1
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S).group(0)
    ET.fromstring(svg)  # well-formed XML
    data = json.loads(re.search(r'<script id="step-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert [f["n"] for f in data["frames"]][:2] == ["start", "forward 1/12"]
    assert data["frames"][-1]["n"] == "backward 11/11"
    slots = set(map(int, re.findall(r'data-s="(\d+)"', svg)))
    assert slots == set(range(len(data["slots"])))  # every changing cell found in the picture
    assert len(page) < 120_000  # was 727 KB: one SVG per step
    # no network: no external scripts, styles, fonts or images
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert not re.search(r"https?://(?!www\.w3\.org/)", page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


@needs_renderer
def test_the_steps_display_inline_in_jupyter():
    x = Tensor(2.0, requires_grad=True, label="x")
    steps = backward_steps((x * 3.0).exp())
    html = steps._repr_html_()
    assert html.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "&lt;svg" in html and "<script" not in html
    assert steps[0]._repr_html_().startswith("<p>Step 1/3: start at the output exp(3·x)")
