"""backward_steps: the engine's real order, every node once, the same gradients as backward(),
no .grad touched; and the self-contained HTML page."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, xor_demo
from tinygrad_edu.draw import available_renderers
from tinygrad_edu.steps import _rule_comment, backward_steps, write_html
from tinygrad_edu.tensor import topological_order

needs_renderer = pytest.mark.skipif(not available_renderers(), reason="no Graphviz renderer installed")


def xor_loss(seed=0):
    tg.manual_seed(seed)
    model = nn.MLP([2, 2, 1])
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


@pytest.mark.parametrize("expand", [False, True])
def test_xor_steps_visit_every_node_once_and_give_backwards_gradients(expand):
    model, loss = xor_loss()
    steps = list(backward_steps(loss, params=xor_demo.names(model), expand=expand))
    check_order(loss, steps)
    assert all(p.grad is None for p in model.parameters())  # nothing stored in .grad
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.total == len(steps) for s in steps)
    loss.backward()
    for s in steps:
        np.testing.assert_array_equal(s.grad.data, s.tensor.grad.data)


def test_shared_inputs_and_a_diamond():
    x = Tensor([0.5, -1.5, 2.0], requires_grad=True, label="x")
    a = x * x  # x used twice by one op
    b = x.exp()  # and again by another
    out = (a + b * a).sum()
    steps = list(backward_steps(out, expand=True))
    check_order(out, steps)
    out.backward()
    grads = {id(s.tensor): s.grad.data for s in steps}
    np.testing.assert_allclose(grads[id(x)], x.grad.data)
    np.testing.assert_allclose(grads[id(x)], 2 * x.data + np.exp(x.data) * x.data**2 + np.exp(x.data) * 2 * x.data)
    assert any("twice" in s.caption for s in steps)  # mul(x, x) sends x two shares


def test_pictures_highlight_the_step_and_show_gradients_found_so_far():
    model, loss = xor_loss()
    steps = list(backward_steps(loss, params=xor_demo.names(model), expand=True))
    for s in steps:
        assert s.graph.source.count('class=current') >= 1
    first, last = steps[0].graph.source, steps[-1].graph.source
    assert first.count("grad —") > last.count("grad —")  # gradients fill in
    assert "grad —" not in last  # at the end every gradient is known
    assert "∂loss/∂loss = 1 (the seed)" in steps[0].caption
    assert any("Backward rule of matmul" in s.caption for s in steps)
    leaf = next(s for s in steps if s.tensor is model.layers[0].weight)
    assert "W1.grad" in leaf.caption


def test_collapsed_steps_point_at_the_call_they_run_inside():
    model, loss = xor_loss()
    steps = list(backward_steps(loss, params=xor_demo.names(model)))
    assert any("inside mse_loss" in s.caption for s in steps)


def test_rule_comments_are_read_from_ops():
    from tinygrad_edu import ops

    assert "∂z/∂x = 1" in _rule_comment(ops.Add)
    assert "Yᵀ" in _rule_comment(ops.MatMul)


def test_errors_like_backward():
    with pytest.raises(RuntimeError, match="does not require grad"):
        next(backward_steps(Tensor([1.0])))
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="gradient"):
        next(backward_steps(x * 2))
    steps = list(backward_steps(x * 2, gradient=np.array([1.0, -1.0])))
    np.testing.assert_array_equal(steps[-1].grad.data, [2.0, -2.0])


@needs_renderer
def test_html_page_is_self_contained_with_one_svg_per_step(tmp_path):
    model, loss = xor_loss()
    steps = list(backward_steps(loss, params=xor_demo.names(model), expand=True))
    path = tmp_path / "steps.html"
    assert write_html(steps, path, title="XOR") == len(steps)
    page = path.read_text(encoding="utf-8")
    assert page.count('<section class="step"') == len(steps) == page.count("<svg")
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)  # each picture is well-formed XML
    assert "ArrowRight" in page and "ArrowLeft" in page and 'id="prev"' in page and 'id="next"' in page
    # no network: no external scripts, styles, fonts or images
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert not re.search(r"https?://(?!www\.w3\.org/)", page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # ids made unique across the inline pictures
    assert html_escaped(steps[3].caption) in page


def html_escaped(text):
    import html

    return html.escape(text)


@needs_renderer
def test_step_displays_in_jupyter():
    x = Tensor(2.0, requires_grad=True, label="x")
    step = next(backward_steps(x * 3.0))
    html = step._repr_html_()
    assert "<svg" in html and "Step 1/" in html
