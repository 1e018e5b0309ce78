"""The XOR demo on the command line: each part prints what it claims, the files are written,
and the flags are documented."""
import contextlib
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

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
    assert re.search(r"Wrote .*xor_backprop.html \(\d+ steps\)", part(text, 5))
    assert (folder / "xor_backprop.html").read_text(encoding="utf-8").count("<svg") > 10


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
    for flag in ("--out", "--format", "--expand", "--steps", "--seed", "--lr"):
        assert flag in text


def test_bad_flags_are_argparse_errors(capsys):
    for argv in (["xor", "--colour"], ["xor", "--format", "gif"], ["xor", "--seed", "x"], []):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_module_and_example_entry_points():
    for cmd in ([sys.executable, "-m", "tinygrad_edu", "--help"], [sys.executable, "examples/xor.py", "--help"]):
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "xor" in result.stdout
