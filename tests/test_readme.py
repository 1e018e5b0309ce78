"""The README's code runs as written, and its quick start names the commands CI runs."""
import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has no python example"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["x"].grad is not None
    assert os.path.exists("moons.npz") and os.path.getsize("moons_graph.svg") > 1000
    X, labels, model = namespace["X"], namespace["labels"], namespace["model"]
    accuracy = ((model(X).numpy().reshape(-1) > 0) == labels).mean()
    assert accuracy > 0.95


def test_quick_start_matches_ci():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in README and ci.rstrip().splitlines()[-1].strip() == "python -m pytest"
    assert 'pip install ".[render]" && python -m tinygrad_edu xor' in README
