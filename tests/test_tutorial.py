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
    """Every `module.name` the tutorial points at (tensor._backprop, ops.MatMul, ...) exists,
    and so does every tinygrad_edu/<file>.py it names."""
    text = TUTORIAL.read_text(encoding="utf-8")
    for path in set(re.findall(r"`(tinygrad_edu/\w+\.py)`", text)):
        assert (ROOT / path).is_file(), path
    refs = set(re.findall(r"`(tensor|ops|composites|autodiff|nn|optim|datasets|draw|steps)\.(?!py`)([A-Za-z_][\w.]*)`", text))
    assert len(refs) >= 20
    for module_name, dotted in refs:
        obj = importlib.import_module(f"tinygrad_edu.{module_name}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"the tutorial names {module_name}.{dotted}, which does not exist"
            obj = getattr(obj, part)
