"""The XOR demo on the command line: each part prints what it claims, the files are written,
the flags are documented, and the lecture-hall flags (--start, --rankdir, --dpi) do what they
say; examples/xor.py runs the same demo as an example."""
import contextlib
import io
import re
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import draw, xor_demo
from tinygrad_edu.__main__ import main
from tinygrad_edu.draw import available_renderers

ROOT = Path(__file__).resolve().parent.parent
needs_renderer = pytest.mark.skipif(not available_renderers(), reason="no Graphviz renderer installed")


def part(text, number):
    """The printed text of part ``number`` (1 to 5)."""
    return re.split(r"^\d\. ", text, flags=re.M)[number]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run `xor --out xor.svg --steps xor_backprop.html` once; (stdout, folder)."""
    folder = tmp_path_factory.mktemp("xor")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["xor", "--out", str(folder / "xor.svg"), "--steps", str(folder / "xor_backprop.html")]) == 0
    return stdout.getvalue(), folder


def test_part1_hand_set_weights_predict_0110(run):
    text = part(run[0], 1)
    assert "W1 = [[1, 1], [1, 1]], c = [0, -1], w2 = [1, -2], b = 0" in text
    assert "predictions: 0 1 1 0" in text and "4/4 correct" in text
    rows = [line.split() for line in text.splitlines() if re.match(r"\s+[01]\s+[01] \|", line)]
    # x1 x2 | z1 z2 | h1 h2 | prediction target
    assert [[r[i] for i in (0, 1, 3, 4, 6, 7, 9, 10)] for r in rows] == [
        ["0", "0", "0", "-1", "0", "0", "0", "0"],
        ["0", "1", "1", "0", "1", "0", "1", "1"],
        ["1", "0", "1", "0", "1", "0", "1", "1"],
        ["1", "1", "2", "1", "2", "1", "0", "0"],
    ]


@needs_renderer
def test_part2_writes_the_picture(run):
    text, folder = run
    assert f"Wrote {folder / 'xor.svg'}" in part(text, 2)
    labels = " ".join(ET.parse(folder / "xor.svg").getroot().itertext())
    for name in ("W1", "c", "w2", "b", "X", "ŷ", "loss", "relu", "mse_loss"):
        assert name in labels


def test_part3_training_solves_xor(run):
    text = part(run[0], 3)
    assert re.search(r"attempt \d+: solved after \d+ steps", text)
    assert "rounded 0 1 1 0: 4/4 correct" in text
    assert all(f"{name} =" in text for name in ("W1", "c ", "w2", "b "))


def test_part4_identity_network_predicts_one_half(run):
    text = part(run[0], 4)
    preds = [float(v) for v in re.search(r"predictions: ([\d. -]+?)\s{2,}", text).group(1).split()]
    assert len(preds) == 4 and all(abs(p - 0.5) < 1e-3 for p in preds)
    one = re.search(r"one Linear\(2, 1\) layer with these weights predicts ([\d. ]+) \(difference ([\de.+-]+)\)", text)
    assert all(abs(float(p) - 0.5) < 1e-3 for p in one.group(1).split()) and float(one.group(2)) < 1e-9
    assert "w2 W1 = [[" in text


@needs_renderer
def test_part5_writes_the_step_through_page(run):
    text, folder = run
    assert re.search(r"Wrote .*xor_backprop.html \(24 steps\)", part(text, 5))
    page = (folder / "xor_backprop.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1  # one layout for every step: the steps change only styles and text


@needs_renderer
def test_png_format(tmp_path, capsys):
    main(["xor", "--out", str(tmp_path / "graph.svg"), "--format", "png", "--seed", "1"])
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "graph.png" in capsys.readouterr().out


def test_without_a_renderer_the_dot_source_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    monkeypatch.delenv("TINYGRAD_EDU_RENDERER", raising=False)
    main(["xor", "--out", str(tmp_path / "xor.svg"), "--steps", str(tmp_path / "s.html")])
    out = capsys.readouterr().out
    assert 'pip install "tinygrad_edu[render]"' in out
    assert "digraph" in (tmp_path / "xor.gv").read_text(encoding="utf-8")
    assert "4/4 correct" in part(out, 3)


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as done:
        main(["xor", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--out", "--format", "--start", "--expand", "--rankdir", "--dpi", "--steps", "--seed", "--lr",
                 "--debug"):
        assert flag in text


def test_bad_flags_are_one_line_argparse_errors(capsys):
    for argv in (["xor", "--colour"], ["xor", "--format", "gif"], ["xor", "--seed", "x"], []):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ": error: " in err, err


def test_module_and_example_entry_points():
    for cmd in ([sys.executable, "-m", "tinygrad_edu", "--help"], [sys.executable, "examples/xor.py", "--help"]):
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "xor" in result.stdout
    assert "--quick" in result.stdout  # examples/xor.py takes the examples' flags


# ---------------------------------------------------------------------------------------
# The lecture-hall flags: --start, --rankdir, --dpi.
# ---------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty working folder, where the demo writes its default xor.svg."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_random_start_has_no_dead_relu_and_no_zero_gradient():
    model = xor_demo.random_start(xor_demo.DEFAULT_SEED)
    _, h, _, loss = xor_demo.loss_graph(model)
    loss.backward()
    assert np.all(np.any(h.data > 0, axis=0))  # each hidden unit is active on some XOR point
    for name, p in xor_demo.names(model):
        assert np.all(np.abs(p.grad.data) > 1e-3), f"{name}.grad = {p.grad.data}"
    assert xor_demo.zero_gradients(model) == 0


def test_at_the_hand_set_minimum_every_gradient_is_0():
    model = xor_demo.lecture_network()
    *_, loss = xor_demo.loss_graph(model)
    loss.backward()
    assert loss.item() == 0.0
    assert all(np.all(p.grad.data == 0) for _, p in xor_demo.names(model))


def svg_text(path):
    return " ".join(ET.parse(path).getroot().itertext())


@needs_renderer
def test_start_random_draws_the_random_starts_gradients(folder, capsys):
    assert main(["xor", "--start", "random", "--out", "start.svg"]) == 0
    model = xor_demo.random_start(xor_demo.DEFAULT_SEED)
    *_, loss = xor_demo.loss_graph(model)
    loss.backward()
    text = svg_text(folder / "start.svg")
    for _, p in xor_demo.names(model):
        for g in p.grad.data.ravel():
            assert f"{g:.4g}" in text  # the picture shows this start's (non-zero) gradients
    assert f"{loss.item():.4g}" in text
    assert f"at the random start (seed {xor_demo.DEFAULT_SEED})" in capsys.readouterr().out


def test_a_start_with_zero_gradients_says_so(tmp_path):
    lines = []
    xor_demo.part2_picture(tmp_path / "x.svg", "svg", start="random", seed=0, out=lines.append)
    model = xor_demo.random_start(0)  # seed 0: one unit is active only at x = (0, 0)
    *_, loss = xor_demo.loss_graph(model)
    loss.backward()
    zeros = xor_demo.zero_gradients(model)
    assert zeros == 2  # that unit's row of W1 gets x = 0 times its gradient
    assert f"{zeros} parameter entries have a gradient of 0" in "\n".join(lines)


def test_rankdir_tb_reaches_the_dot_source(folder, capsys, monkeypatch):
    """Without a renderer the demo writes the DOT text: it holds rankdir=TB."""
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    monkeypatch.delenv(draw.RENDERER_ENV, raising=False)
    assert main(["xor", "--rankdir", "TB"]) == 0
    source = (folder / "xor.gv").read_text(encoding="utf-8")
    assert "rankdir=TB" in source and "rankdir=LR" not in source


def svg_size(svg):
    root = ET.fromstring(svg)
    return float(root.get("width").rstrip("pt")), float(root.get("height").rstrip("pt"))


@needs_renderer
def test_rankdir_tb_turns_the_picture_and_the_step_page(folder, capsys):
    assert main(["xor", "--rankdir", "TB", "--out", "tb.svg", "--steps", "tb.html"]) == 0
    width, height = svg_size((folder / "tb.svg").read_text(encoding="utf-8"))
    assert height > width  # top to bottom: taller than wide
    page = (folder / "tb.html").read_text(encoding="utf-8")
    first = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    width, height = svg_size(first)
    assert height > width
    assert main(["xor", "--out", "lr.svg"]) == 0
    width, height = svg_size((folder / "lr.svg").read_text(encoding="utf-8"))
    assert width > 2 * height  # the default, left to right


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@needs_renderer
def test_dpi_sets_the_png_resolution(folder, capsys):
    assert main(["xor", "--out", "low.png", "--dpi", "48"]) == 0
    assert main(["xor", "--out", "high", "--format", "png", "--dpi", "192"]) == 0
    (w1, h1), (w4, h4) = png_size(folder / "low.png"), png_size(folder / "high.png")
    assert abs(w4 - 4 * w1) <= 4 and abs(h4 - 4 * h1) <= 4, ((w1, h1), (w4, h4))


@pytest.mark.parametrize("renderer", draw.available_renderers())
def test_both_renderers_honour_dpi(renderer, tmp_path, monkeypatch):
    monkeypatch.setenv(draw.RENDERER_ENV, renderer)
    sizes = []
    for dots in (50, 100):
        path, graph = xor_demo.part2_picture(tmp_path / f"{dots}.png", "png", dpi=dots, out=lambda *_: None)
        assert f"dpi={dots}" in graph.source
        sizes.append(png_size(path))
    assert abs(sizes[1][0] - 2 * sizes[0][0]) <= 2, sizes


# ---------------------------------------------------------------------------------------
# examples/xor.py: an example like the others (--out DIR, --quick, cells, main() -> numbers).
# ---------------------------------------------------------------------------------------
def _xor_example():
    if str(ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(ROOT / "examples"))
    import xor  # examples/xor.py

    return xor


def test_xor_example_quick_writes_into_its_folder_and_returns_its_numbers(tmp_path, capsys):
    start = time.perf_counter()
    r = _xor_example().main(["--out", str(tmp_path / "pics"), "--quick"])
    seconds = time.perf_counter() - start
    assert seconds < 5, f"--quick took {seconds:.1f} s"
    np.testing.assert_array_equal(r["hand_set_predictions"], [0, 1, 1, 0])
    assert r["hand_set_max_error_vs_numpy"] < 1e-12  # the engine computes the lecture's formula
    assert r["hand_set_loss"] == 0.0 and r["hand_set_max_abs_gradient"] == 0.0  # a minimum
    assert r["random_start_min_abs_gradient"] > 1e-3  # at the random start no gradient is 0
    assert r["trained_correct"] == 4
    np.testing.assert_allclose(r["trained_predictions"], [0, 1, 1, 0], atol=xor_demo.SOLVED)
    assert r["linear_max_abs_minus_half"] < 1e-6  # the linear network: 0.5 everywhere
    assert r["one_layer_max_difference"] < 1e-12  # its two layers are one Linear
    written = sorted(p.name for p in (tmp_path / "pics").iterdir())
    if available_renderers():
        assert written == ["xor.svg", "xor_backprop.html", "xor_random_start.svg"]
    else:
        assert written == ["xor.gv", "xor_random_start.gv"]
    assert sorted(Path(f).name for f in r["files"]) == written
    printed = capsys.readouterr().out
    assert "trained_correct" in printed and "4/4 correct" in printed


def test_xor_example_has_cells_and_main():
    text = (ROOT / "examples" / "xor.py").read_text(encoding="utf-8")
    assert text.count("# %%") >= 3
    assert "def main(argv=None)" in text and 'if __name__ == "__main__":' in text
    assert "_common.parse_args" in text
