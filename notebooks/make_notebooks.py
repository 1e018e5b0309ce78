"""Make the Jupyter notebooks from their sources: ``python notebooks/make_notebooks.py``.

Each example (``examples/*.py``, a script whose ``# %%`` lines mark notebook cells) and the
tutorial's walk-through (the ``python`` blocks of ``docs/tutorial.md`` and the text around
them) become one ``.ipynb`` file in this folder, by jupytext. The scripts stay the source:
edit them and run this again; ``--check`` says (exit status 1) which notebooks are out of
date, and the test suite runs it (tests/test_notebooks.py).

What a notebook adds to its script: the script's docstring becomes the first text cell; a
setup cell finds ``examples/`` (for the examples' shared helpers, ``_common.py``) from the
folder the notebook runs in; and instead of ``if __name__ == "__main__": main()`` two cells
at the end, a ``parameters`` cell (``QUICK``, like ``--quick``, and ``OUT``, the folder for
the pictures; papermill understands the tag) and the call of ``main``. The XOR notebook
also shows the graph and the step-through page inline.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "examples"
TUTORIAL = ROOT / "docs" / "tutorial.md"

SETUP = '''# Setup: find the examples' folder (for their shared helpers, _common.py) from where this runs.
import sys
from pathlib import Path

for folder in [Path.cwd(), *Path.cwd().parents]:
    if (folder / "examples" / "_common.py").is_file():
        sys.path.insert(0, str(folder / "examples"))
        break'''
PARAMETERS = '''QUICK = False  # True: few steps and little data, like the script's --quick
OUT = "."  # the folder the pictures go to'''
RUN = 'results = main(["--out", OUT] + (["--quick"] if QUICK else []))'
INLINE = {  # extra cells, per notebook: (markdown, code, code, ...)
    "xor": ["## In the notebook: the picture and the step-through page, inline\n\n"
            "`tg.draw_graph(...)` shows itself as a picture when it ends a cell, and "
            "`tg.backward_steps(...)` as the step-through page (arrow keys, once clicked).",
            "model = xor_demo.random_start(xor_demo.DEFAULT_SEED)\n*_, loss = xor_demo.loss_graph(model)\n"
            "loss.backward()\ntg.draw_graph(loss, params=xor_demo.names(model))",
            "tg.backward_steps(loss, params=xor_demo.names(model), expand=True)"],
}
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def sources():
    """(notebook name, path of its source) for every example with cells, and the tutorial."""
    found = [(p.stem, p) for p in sorted(EXAMPLES.glob("*.py"))
             if not p.name.startswith("_") and re.search(r"^# %%", p.read_text(encoding="utf-8"), re.M)]
    return found + [("tutorial", TUTORIAL)]


def example_notebook(name, text):
    """The notebook of one example script (see the module's docstring for what it adds)."""
    nb = jupytext.reads(text, fmt="py:percent")
    cells = []
    for cell in nb.cells:
        source = cell.source
        if cell.cell_type == "code" and source.startswith('"""') and not cells:
            cells.append(nbformat.v4.new_markdown_cell(source.strip().strip('"').strip()))
            continue
        if cell.cell_type == "code" and "import _common" in source and not any("Setup:" in c.source for c in cells):
            cells.append(nbformat.v4.new_code_cell(SETUP))
        main_call = re.search(r"\n*if __name__ == \"__main__\":\n\s+main\(\)\s*$", source)
        if cell.cell_type == "code" and main_call:
            source = source[:main_call.start()]
            cells.append(nbformat.v4.new_code_cell(source) if source.strip() else None)
            cells.append(nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}))
            cells.append(nbformat.v4.new_code_cell(RUN))
            continue
        new = nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else nbformat.v4.new_code_cell
        cells.append(new(source))
    extra = INLINE.get(name, [])
    cells += [nbformat.v4.new_markdown_cell(extra[0])] + [nbformat.v4.new_code_cell(c) for c in extra[1:]] if extra else []
    return finish([c for c in cells if c is not None])


def tutorial_notebook(text):
    """The tutorial as a notebook: its text as markdown cells, its python blocks as code."""
    nb = jupytext.reads(text, fmt="md")
    cells = []
    for cell in nb.cells:
        new = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        cells.append(new(cell.source))
    return finish(cells)


def finish(cells):
    """A notebook with stable ids and metadata, so that the same source gives the same file."""
    nb = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
    return nb


def make(name, path):
    """The text of the notebook ``name`` made from ``path``."""
    text = path.read_text(encoding="utf-8")
    nb = tutorial_notebook(text) if path.suffix == ".md" else example_notebook(name, text)
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which notebooks are out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, path in sources():
        target = HERE / f"{name}.ipynb"
        text = make(name, path)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)} (from {path.relative_to(ROOT)})")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run: python notebooks/make_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
