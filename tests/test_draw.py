"""draw_graph: the DOT source of the XOR graph, collapsing and expanding composites, styles,
big graphs, and rendering with each renderer (system `dot` and pygraphviz)."""
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_edu import Tensor, nn, xor_demo
from tinygrad_edu.draw import MAX_NODES, STYLE, Graph, GraphTooLarge, RenderError, available_renderers, draw_graph

RENDERERS = ["dot", "pygraphviz"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse(source):
    """(node id -> name shown, set of (name, name) edges) from DOT source."""
    names = {}
    for node, label in re.findall(r"^\t(\w+) \[label=(.*)$", source, flags=re.M):
        bold = re.search(r"<B>(.*?)</B>", label)
        names[node] = bold.group(1) if bold else re.match(r"<?([^< \]]*)", label).group(1)
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\t(\w+) -> (\w+)", source, flags=re.M)}
    return names, edges


def node_line(source, name):
    lines = [line for line in source.splitlines() if f"<B>{name}</B>" in line]
    assert len(lines) == 1, f"expected one node named {name!r}"
    return lines[0]


@pytest.fixture
def xor_graph():
    model = xor_demo.lecture_network()
    *_, loss = xor_demo.loss_graph(model)
    loss.backward()
    return model, loss


def test_xor_graph_collapsed_has_the_lecture_nodes_and_edges(xor_graph):
    model, loss = xor_graph
    g = draw_graph(loss, params=xor_demo.names(model))
    names, edges = parse(g.source)
    shown = sorted(names.values())
    assert shown == sorted(["X", "W1", "c", "w2", "b", "z", "h", "ŷ", "y", "loss",
                            "Linear", "Linear", "relu", "mse_loss"])
    assert {("X", "Linear"), ("W1", "Linear"), ("c", "Linear"), ("Linear", "z"), ("z", "relu"),
            ("relu", "h"), ("h", "Linear"), ("w2", "Linear"), ("b", "Linear"), ("Linear", "ŷ"),
            ("ŷ", "mse_loss"), ("y", "mse_loss"), ("mse_loss", "loss")} == edges
    assert len(re.findall(r"-> ", g.source)) == 13
    assert f'fillcolor="{STYLE["input"][0]}"' in node_line(g.source, "y")  # the target is data
    # data and gradients in the boxes: z = W1 x + c, all gradients 0 at this minimum, loss' is 1
    z = node_line(g.source, "z")
    assert "[[ 0 -1]" in z and "[ 2  1]]" in z and "grad [[0 0]" in z
    assert "grad 1" in node_line(g.source, "loss")
    assert "(2, 2)" in node_line(g.source, "W1") and "scalar" in node_line(g.source, "loss")
    assert 'rankdir=LR' in g.source


def test_xor_graph_expanded_shows_the_primitives(xor_graph):
    model, loss = xor_graph
    g = draw_graph(loss, params=xor_demo.names(model), expand=True)
    ops = set(re.findall(r"\[label=(\w+)", g.source))  # primitive ops have plain-text labels
    assert {"matmul", "add", "where", "mul", "sum"} <= ops
    assert "transpose" in g.source
    assert "Linear" not in g.source and "mse_loss" not in g.source and "relu" not in g.source
    names, edges = parse(g.source)
    assert ("W1", "transpose(1, 0)") not in edges  # labels with arguments are not plain words
    assert any(a == "z" and b == "where" for a, b in edges)  # relu is a select


def test_expand_depth_opens_one_level_at_a_time():
    x = Tensor([-1.0, 2.0], requires_grad=True, label="x")
    y = x.sigmoid()  # sigmoid = exp(-softplus(-x)), softplus = log(1 + e^x) below 40, else x
    collapsed = draw_graph(y).source
    assert "<B>sigmoid</B>" in collapsed and "label=exp" not in collapsed
    one = draw_graph(y, expand=1).source
    assert "<B>softplus</B>" in one and "label=exp" in one and "<B>sigmoid</B>" not in one
    full = draw_graph(y, expand=True).source
    assert "softplus" not in full and "label=log" in full and "label=exp" in full


def test_softplus_is_exp_log_and_a_select_when_expanded():
    x = Tensor([-1.0, 0.5, 3.0], requires_grad=True, label="x")
    y = x.softplus()  # where(x > 40, x, log(exp(where(x > 40, 0, x)) + 1))
    assert "<B>softplus</B>" in draw_graph(y).source
    ops = re.findall(r"\[label=(\w+)", draw_graph(y, expand=True).source)
    assert sorted(ops) == ["add", "exp", "log", "where", "where"]


def edge_count(source, a, b):
    names, _ = parse(source)
    ids = {name: [n for n, shown in names.items() if shown == name] for name in (a, b)}
    return sum(len(re.findall(rf"^\t{x} -> {y}$", source, flags=re.M)) for x in ids[a] for y in ids[b])


def test_a_labelled_constant_fed_to_a_collapsed_composite_is_its_input():
    # y − t = y + (−1)·t: t·(−1) is not recorded (t needs no grad), so t is no op's parent;
    # the picture takes it from the sub call's arguments
    t = Tensor(2.0, label="t")
    y = Tensor(1.0, requires_grad=True, label="y")
    collapsed = draw_graph((y - t) ** 2).source
    _, edges = parse(collapsed)
    assert {("y", "sub"), ("t", "sub")} <= edges
    assert edge_count(collapsed, "t", "sub") == 1 and edge_count(collapsed, "y", "sub") == 1
    assert f'fillcolor="{STYLE["input"][0]}"' in node_line(collapsed, "t")
    # expanded, the picture shows what was computed, add with the constant −t = −2, and t
    # with a dashed arrow to it (the negation was not recorded: t needs no gradient)
    expanded = draw_graph((y - t) ** 2, expand=True).source
    assert "<B>sub</B>" not in expanded
    names, edges = parse(expanded)
    assert {("y", "add"), ("−t", "add"), ("t", "−t")} <= edges
    assert re.search(r"\t\w+ -> \w+ \[label=\" ·\(−1\), not recorded \"[^]]*style=dashed", expanded)
    # a tensor used twice (as sub's input and as mse_loss's target) is one box, one edge each
    twice = draw_graph(nn.mse_loss(y - t, t)).source
    assert twice.count("<B>t</B>") == 1
    assert edge_count(twice, "t", "sub") == 1 and edge_count(twice, "t", "mse_loss") == 1


def test_the_target_of_a_loss_is_shown():
    pred = Tensor([1.0, 2.0], requires_grad=True, label="pred")
    source = draw_graph(nn.mse_loss(pred, Tensor([0.5, 1.0], label="target"))).source
    assert {("pred", "mse_loss"), ("target", "mse_loss")} <= parse(source)[1]
    # a numpy target: a grey constant box with the array's numbers
    source = draw_graph(nn.mse_loss(pred, np.array([0.5, 0.25]))).source
    names, edges = parse(source)
    (target,) = [n for n in set(names.values()) - {"pred", "mse_loss"} if "0.25" in node_line(source, n)]
    assert (target, "mse_loss") in edges and f'fillcolor="{STYLE["const"][0]}"' in node_line(source, target)
    # an unnamed constant passed to a composite is shown too (a small grey number)
    assert ("2>", "sub") in parse(draw_graph((2.0 - pred).sum()).source)[1]


def test_a_composites_own_constants_stay_hidden():
    x = Tensor([-1.0, 0.5, 3.0], requires_grad=True, label="x")
    source = draw_graph(x.softplus()).source  # softplus makes constants (0, 1, 40) inside: not arguments
    names, edges = parse(source)
    assert sorted(names.values()) == ["softplus", "softplus(x)", "x"]
    assert edges == {("x", "softplus"), ("softplus", "softplus(x)")}
    assert "#eeeeee" not in source.split("label=<<TABLE BORDER=\"0\" CELLSPACING")[0]  # no constant box


def test_styles_and_legend(xor_graph):
    model, loss = xor_graph
    source = draw_graph(loss, params=xor_demo.names(model)).source
    assert f'fillcolor="{STYLE["param"][0]}"' in node_line(source, "W1")
    assert f'fillcolor="{STYLE["input"][0]}"' in node_line(source, "X")
    assert f'fillcolor="{STYLE["value"][0]}"' in node_line(source, "z")
    assert f'fillcolor="{STYLE["output"][0]}"' in node_line(source, "loss")
    assert "peripheries=2" in source  # collapsed calls have a double border
    assert "parameter (requires grad)" in source and "input data" in source  # the legend
    plain = draw_graph(loss, params=xor_demo.names(model), legend=False, rankdir="TB").source
    assert "parameter (requires grad)" not in plain and "rankdir=TB" in plain


def test_show_data_and_show_grad_can_be_turned_off(xor_graph):
    _, loss = xor_graph
    source = draw_graph(loss, show_data=False, show_grad=False).source
    assert ">grad " not in source and "red: grad" not in source and "[[ 0 -1]" not in source
    assert "(4, 2)" in source  # shapes stay


def test_names_come_from_params_then_labels_then_what_computed_them_then_generated():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True, label="w")
    y = (x * w).sum()
    names, _ = parse(draw_graph(y, params={"x": x}).source)
    assert sorted(set(names.values())) == ["mul", "sum", "w", "x", "x·w", "Σ(x·w)"]
    long = (x * w).exp().log().exp()  # exp(log(exp(x·w))) has 16+ characters: generated
    names, _ = parse(draw_graph(long, params={"x": x}).source)
    assert {"exp(x·w)", "log(exp(x·w))", "t1"} <= set(names.values())
    model = nn.MLP([2, 2, 1])
    out = model(Tensor(np.ones((3, 2)), label="X")).sum()
    for params in (model, model.named_parameters(), dict(model.named_parameters())):
        assert "<B>layers.2.bias</B>" in draw_graph(out, params=params).source


def test_container_modules_are_dashed_frames_and_data_fed_to_a_layer_is_shown():
    model = nn.MLP([2, 3, 1])
    out = model(np.ones((5, 2))).sum()  # numpy data, no label
    source = draw_graph(out).source
    assert re.search(r"subgraph cluster_\d+ \{\s*graph \[[^]]*label=MLP", source)
    assert "label=Sequential" in source
    assert "(5, 2)" in source  # the unnamed data array is drawn as the first Linear's input
    assert source.count("<B>Linear</B>") == 2 and "<B>relu</B>" in source


def test_small_arrays_in_full_large_ones_summarised():
    x = Tensor(np.arange(100.0).reshape(50, 2), requires_grad=True, label="x")
    y = (x * 2.0).sum()
    y.backward()
    line = node_line(draw_graph(y).source, "x")
    assert "min 0  mean 49.5  max 99" in line and "grad min 2  mean 2  max 2" in line
    assert "(50, 2)" in line
    small = Tensor([1 / 3, -2.0, 12345.678], requires_grad=True, label="s")
    assert "[   0.3333        -2 1.235e+04]" in node_line(draw_graph(small * 1.0).source, "s")


def test_scalar_constants_are_small_grey_numbers():
    x = Tensor(3.0, requires_grad=True, label="x")
    source = draw_graph(x * 2.5).source
    assert re.search(r"label=<2\.5> .*fillcolor=\"#eeeeee\"", source)


def test_a_leaf_alone_and_non_tensors():
    assert "<B>a</B>" in draw_graph(Tensor([1.0], label="a")).source
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph(np.ones(3))


def test_ten_thousand_nodes_draw_without_recursion_error_when_asked_to():
    x = Tensor(1.0, requires_grad=True, label="x")
    y = x
    for _ in range(5000):  # 5,000 add ops and 5,000 values
        y = y + x
    y.backward()
    g = draw_graph(y, expand=True, max_nodes=10**9)
    assert g.source.count("label=") == 10_001 + 1  # the boxes, the ellipses and the legend
    assert isinstance(g, Graph) and isinstance(g, __import__("graphviz").Digraph)


# ---------------------------------------------------------------------------------------
# Rendering, with each renderer.
# ---------------------------------------------------------------------------------------
@pytest.fixture(params=RENDERERS)
def renderer(request, monkeypatch):
    if request.param not in available_renderers():
        pytest.skip(f"renderer {request.param} is not installed here")
    monkeypatch.setenv("TINYGRAD_EDU_RENDERER", request.param)
    return request.param


def svg_text(svg):
    root = ET.fromstring(svg)
    return " ".join(t for t in root.itertext())


def test_svg_parses_and_shows_the_labels(renderer, xor_graph):
    model, loss = xor_graph
    svg = draw_graph(loss, params=xor_demo.names(model)).pipe(format="svg", encoding="utf-8")
    text = svg_text(svg)
    for name in ("W1", "c", "w2", "b", "X", "ŷ", "loss", "Linear", "relu", "mse_loss", "grad"):
        assert name in text


def test_png_and_render_to_a_file(renderer, xor_graph, tmp_path):
    _, loss = xor_graph
    g = draw_graph(loss)
    assert g.pipe(format="png").startswith(PNG_SIGNATURE)
    path = g.render(tmp_path / "xor", format="png")
    assert path.endswith("xor.png") and open(path, "rb").read(8) == PNG_SIGNATURE
    out = g.render(outfile=tmp_path / "pic.svg")
    assert out.endswith("pic.svg")
    ET.parse(out)


def test_jupyter_display(renderer, xor_graph):
    _, loss = xor_graph
    bundle = draw_graph(loss)._repr_mimebundle_()
    assert "mse_loss" in svg_text(bundle["image/svg+xml"])


def test_without_any_renderer_the_error_says_what_to_install(monkeypatch, tmp_path, xor_graph):
    _, loss = xor_graph
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # `import pygraphviz` fails
    monkeypatch.delenv("TINYGRAD_EDU_RENDERER", raising=False)
    g = draw_graph(loss)
    assert "mse_loss" in g.source  # building works
    assert available_renderers() == []
    for render in (lambda: g.pipe(format="svg"), lambda: g.render(tmp_path / "x"), g._repr_mimebundle_):
        with pytest.raises(RenderError) as err:
            render()
        assert 'pip install "tinygrad_edu[render]"' in str(err.value)
        assert "apt-get install graphviz" in str(err.value)


def test_forcing_a_missing_renderer_is_an_error(monkeypatch, tmp_path, xor_graph):
    _, loss = xor_graph
    monkeypatch.setenv("PATH", str(tmp_path))
    g = draw_graph(loss)
    g.render_with = "dot"
    with pytest.raises(RenderError, match="no `dot` on PATH"):
        g.pipe(format="svg")
    g.render_with = "cairo"
    with pytest.raises(ValueError, match="render_with is 'cairo'; the renderer must be one of 'auto', 'dot', 'pygraphviz'"):
        g.pipe(format="svg")


def test_a_bad_renderer_setting_names_the_environment_variable(monkeypatch, xor_graph):
    _, loss = xor_graph
    monkeypatch.setenv("TINYGRAD_EDU_RENDERER", "garbage")
    g = draw_graph(loss)  # building needs no renderer
    for render in (lambda: g.pipe(format="svg"), g._repr_svg_):
        with pytest.raises(ValueError) as err:
            render()
        assert str(err.value) == ("the environment variable TINYGRAD_EDU_RENDERER is 'garbage'; the renderer must "
                                  "be one of 'auto', 'dot', 'pygraphviz' (or leave it unset)")


# ---------------------------------------------------------------------------------------
# Names, labels and the size limit.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("label", [5, 2.5, b"x", ["z"], ("a",)])
def test_a_label_that_is_not_a_string_is_a_clear_error(label):
    x = Tensor([1.0, 2.0], requires_grad=True, label="x")
    y = x * 2.0
    y.label = label  # set after the constructor, which checks it
    with pytest.raises(TypeError) as err:
        draw_graph(y.sum())
    assert f"draw_graph: a tensor's label must be a string, got {label!r} ({type(label).__name__})" in str(err.value)
    assert "shape (2,)" in str(err.value)


def test_a_param_name_that_is_not_a_string_is_a_clear_error():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"draw_graph: the names in params must be strings, got 7 \(int\)"):
        draw_graph(x * 2.0, params={7: x})


def test_expanded_xor_names_its_intermediates_and_keeps_the_target(xor_graph):
    model, loss = xor_graph
    source = draw_graph(loss, params=xor_demo.names(model), expand=True).source
    names, edges = parse(source)
    assert {"X@W1ᵀ", "z &lt;= 0", "h@w2ᵀ", "−y", "ŷ − y", "(ŷ − y)²", "Σ(ŷ − y)²"} <= set(names.values())
    assert not [n for n in names.values() if re.fullmatch(r"t\d+", n)]  # nothing left unnamed
    assert {("y", "−y"), ("−y", "add"), ("ŷ", "add"), ("z", '"&lt;="'), ("z &lt;= 0", "where")} <= edges
    assert f'fillcolor="{STYLE["input"][0]}"' in node_line(source, "y")  # the target is data, in blue


def chain(n, fan_out=False):
    x = Tensor([[1.0, 2.0]], requires_grad=True, label="x")
    y = x
    for _ in range(n):
        y = (y * 0.5).relu() + (x if fan_out else 1.0)
    return y.sum()


def test_a_graph_beyond_the_limit_is_refused_quickly_with_what_to_do():
    import time

    root = chain(300)  # 300 × 4 ops: 3,600 nodes expanded
    start = time.perf_counter()
    with pytest.raises(GraphTooLarge) as err:
        draw_graph(root, expand=True)
    assert time.perf_counter() - start < 2.0
    text = str(err.value)
    assert text.startswith("draw_graph: this graph is too large to draw: 3,603 boxes and ellipses")
    assert f"more than the limit of {MAX_NODES:,} (max_nodes)" in text
    assert "expand=False (size 2,403)" in text and "draw_graph(t) of an intermediate tensor" in text
    assert "max_nodes=" in text
    assert "<B>relu</B>" in draw_graph(root).source  # the advice works: collapsed, it draws
    assert isinstance(err.value, ValueError)


def test_arrows_that_pass_many_ranks_count_towards_the_limit():
    # x feeds every one of 30 adds along a chain: Graphviz routes 30 long arrows past every
    # rank between (4 s of layout here; 40 such adds took 150 s)
    with pytest.raises(GraphTooLarge, match=r"333 boxes and ellipses and arrows that pass 3,720 ranks"):
        draw_graph(chain(30, fan_out=True), expand=True)
    draw_graph(chain(10, fan_out=True), expand=True)  # 10 are fine
    draw_graph(chain(200), expand=True)  # and so is a plain chain of 2,400 nodes
