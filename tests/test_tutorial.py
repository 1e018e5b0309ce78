"""docs/tutorial.md: its Python blocks run, in order, as one program; its pictures exist.

Each block asserts its own claims, so running them checks the tutorial's text as well as
its code. They run in a temporary folder, so nothing they write lands in the repository.
"""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"


def python_blocks(text):
    """The ```python blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_tutorial_has_code_and_pictures():
    text = TUTORIAL.read_text(encoding="utf-8")
    assert len(python_blocks(text)) >= 10
    assert "python -m tinygrad_edu xor" in text  # XOR lives in its own demo: link to it


def test_tutorial_code_blocks_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "tutorial"}
    for number, block in enumerate(python_blocks(TUTORIAL.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(block, f"docs/tutorial.md, python block {number}", "exec"), namespace)
        except Exception as e:  # name the block, so a failure points at the text to fix
            pytest.fail(f"python block {number} of docs/tutorial.md failed: {type(e).__name__}: {e}\n{block}")


def test_tutorial_pictures_are_committed_and_small():
    text = TUTORIAL.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) >= 7
    total = 0
    for rel in images:
        assert not rel.startswith(("/", "http")), f"{rel}: use a path relative to docs/"
        path = TUTORIAL.parent / rel
        assert path.is_file(), f"the tutorial shows {rel}, which is missing"
        total += path.stat().st_size
    assert total < 400_000, f"the tutorial's pictures weigh {total} bytes; keep them small"


def test_tutorial_names_real_source():
    """Every `module.name` the tutorial points at (tensor.backprop, ops.MatMul, ...) exists,
    and so does every tinygrad_edu/<file>.py it names."""
    text = TUTORIAL.read_text(encoding="utf-8")
    for path in set(re.findall(r"`(tinygrad_edu/\w+\.py)`", text)):
        assert (ROOT / path).is_file(), path
    modules = "tensor|ops|composites|autodiff|modes|nn|optim|datasets|draw|steps"
    refs = set(re.findall(rf"`({modules})\.(?!py`)([A-Za-z_][\w.]*)`", text))
    assert len(refs) >= 20
    for module_name, dotted in refs:
        obj = importlib.import_module(f"tinygrad_edu.{module_name}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"the tutorial names {module_name}.{dotted}, which does not exist"
            obj = getattr(obj, part)


# ---------------------------------------------------------------------------------------
# True to the lecture: its words, its weights, and numbers that match the examples.
# ---------------------------------------------------------------------------------------
def _section(text, heading):
    """The text of the section that starts with ``heading`` (up to the next heading of its level)."""
    level = heading.split(" ")[0]
    start = text.index(heading)
    nxt = re.search(rf"^{level} ", text[start + len(heading):], flags=re.M)
    return text[start: start + len(heading) + nxt.start()] if nxt else text[start:]


def test_tutorial_defines_hidden_layers_depth_and_width_as_the_lecture():
    text = TUTORIAL.read_text(encoding="utf-8")
    section = _section(text, "## 6.")
    # the lecture: "the overall length of the chain gives the depth, and the dimensionality
    # of hidden layers determines the width"; hidden because the data shows no desired output
    assert "**Depth** is the overall length of the chain" in section
    assert "**Width** is the dimensionality of the hidden layers" in section
    assert "**Hidden layers**" in section and "desired output" in section
    assert "f⁽³⁾(f⁽²⁾(f⁽¹⁾(x))) has depth 3" in section
    # the example says the same (it once counted hidden layers as the depth)
    example = (ROOT / "examples" / "depth_and_width.py").read_text(encoding="utf-8")
    assert "the length of the chain is the network's depth" in example
    assert "Depth = number of hidden layers" not in example


def _table_rows(markdown, header_start):
    """{first cell: [other cells]} of the markdown table whose header starts with ``header_start``."""
    start = markdown.index(header_start)
    rows = {}
    for line in markdown[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _example(name, tmp_path, monkeypatch):
    """Run examples/<name>.py in full (numbers only, no plots) and return its results."""
    import sys

    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    return importlib.import_module(name).main(["--out", str(tmp_path)])


def test_depth_and_width_table_is_the_examples_full_run(tmp_path, monkeypatch):
    """The tutorial's table is what examples/depth_and_width.py measures, with the same
    depths (the lecture's: the length of the chain) in the text, the code and the table."""
    r = _example("depth_and_width", tmp_path, monkeypatch)
    rows = _table_rows(TUTORIAL.read_text(encoding="utf-8"), "| depth (hidden layers) \\ width |")
    assert list(rows) == ["1 (none: linear)", "2 (one)", "3 (two)", "4 (three)"]
    widths = [2, 4, 16]
    for row in r["table"]:
        label = next(k for k in rows if k.startswith(f"{row['depth']} "))
        column = 0 if row["width"] is None else widths.index(row["width"])
        assert rows[label][column] == f"{row['test_accuracy']:.0%}", (row, rows[label])


def test_feature_extractor_numbers_in_the_text_are_measured(tmp_path, monkeypatch):
    r = _example("feature_extractor", tmp_path, monkeypatch)
    section = " ".join(_section(TUTORIAL.read_text(encoding="utf-8"), "### Learned features").split())
    assert r["best_axis_plane"].startswith("x1 ")  # the text says the plane is x₁ = c
    assert f"plane of the form x₁ = c gets {r['best_axis_plane_accuracy']:.1%}" in section
    assert f"does worse, {r['raw_linear_probe_accuracy']:.1%}: chance" in section
    assert f"random features help, {r['untrained_feature_linear_probe_accuracy']:.1%}" in section
    assert f"trained on φ(x) gets {r['feature_linear_probe_accuracy']:.0%}" in section
    assert "no better than chance" not in section  # the old slip: the best plane beats chance


def test_tutorial_shows_the_lectures_xor_weights():
    """A code block with W1 = [[1, 1], [1, 1]], c = [0, −1], w2 = [1, −2], b = 0: the weights
    of tinygrad_edu.xor_demo.LECTURE_WEIGHTS (the block itself asserts they are the same)."""
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    block = next(b for b in blocks if "W1 = np.array" in b)
    assert "W1 = np.array([[1.0, 1.0], [1.0, 1.0]])" in block
    assert "c = np.array([0.0, -1.0])" in block
    assert "w2 = np.array([[1.0, -2.0]])" in block
    assert "b = np.array([0.0])" in block
    assert "LECTURE_WEIGHTS" in block
    assert "== [0, 1, 1, 0]" in block


def test_tutorial_shows_a_dead_relu_unit_with_tg_grad():
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    block = next(b for b in blocks if "relu_unit" in b)
    assert "tg.grad(relu_unit" in block and "tg.grad(elu_unit" in block
    assert "dw.tolist() == [0.0, 0.0] and db.item() == 0.0" in block  # exactly zero, not small


def test_tutorial_says_softplus_is_exp_and_log_not_max():
    """Softplus is exp and log (kept in range by a select); no max carries its gradient.
    The second python block checks the expanded picture has no maximum in it."""
    text = TUTORIAL.read_text(encoding="utf-8")
    assert "max, exp and log" not in text
    assert "Softplus is an exp and a log" in " ".join(_section(text, "## 4.").split())
    assert any('"maximum" not in expanded.source' in b for b in python_blocks(text))


def test_pytorch_section_says_what_changes():
    section = _section(TUTORIAL.read_text(encoding="utf-8"), "## 8.")
    assert "only on leaves" in section and "retain_grad()" in section
    for name in ("to_torch", "from_torch", "load_torch_state_dict", "DistributedDataParallel"):
        assert name in section, name


def test_tutorial_blocks_run_without_torch(tmp_path, monkeypatch):
    """With PyTorch missing the torch block skips itself; every other block still runs."""
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "tutorial"}
    for number, block in enumerate(python_blocks(TUTORIAL.read_text(encoding="utf-8")), start=1):
        exec(compile(block, f"docs/tutorial.md, python block {number}", "exec"), namespace)
    assert namespace["torch"] is None


def test_the_docs_home_page_code_runs(tmp_path, monkeypatch):
    """docs/index.md, the site's home page, has a first program; it runs and computes 7."""
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((ROOT / "docs" / "index.md").read_text(encoding="utf-8"))
    assert blocks
    namespace = {"__name__": "home"}
    for block in blocks:
        exec(compile(block, "docs/index.md", "exec"), namespace)
    assert namespace["x"].grad.item() == 7.0
    assert namespace["loss"].item() < 0.1  # the moons model trained
