"""The notebooks (notebooks/*.ipynb): made from the examples' `# %%` scripts and the tutorial
by notebooks/make_notebooks.py, committed up to date, and run headless in a Jupyter kernel
(quick settings), where draw_graph and backward_steps show themselves inline. Skipped, saying
why, without the notebook tools (pip install "tinygrad_edu[notebooks]")."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WHY = 'the notebook tools are not installed: pip install "tinygrad_edu[notebooks]"'

jupytext = pytest.importorskip("jupytext", reason=WHY)
nbformat = pytest.importorskip("nbformat", reason=WHY)
nbclient = pytest.importorskip("nbclient", reason=WHY)
pytest.importorskip("ipykernel", reason=WHY)


def maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = maker()
NAMES = [name for name, _ in MAKER.sources()]


def test_every_example_and_the_tutorial_has_a_notebook_and_it_is_up_to_date(capsys):
    examples = {p.stem for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")}
    assert set(NAMES) == examples | {"tutorial"}  # every example has cells, xor.py included
    assert MAKER.main(["--check"]) == 0, capsys.readouterr().out
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


def test_a_notebook_is_its_script_plus_setup_parameters_and_the_call(tmp_path):
    nb = nbformat.reads((NOTEBOOKS / "linear_regression.ipynb").read_text(encoding="utf-8"), as_version=4)
    script = (ROOT / "examples" / "linear_regression.py").read_text(encoding="utf-8")
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0].startswith("# Setup: find the examples' folder")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.splitlines()[0] in script
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert [c.source for c in params] == [MAKER.PARAMETERS] and code[-1] == MAKER.RUN
    assert "__main__" not in "".join(code)
    for block in code[1:-2]:  # the script's own code, cell by cell
        assert block in script


def quick(nb, out):
    """Set the parameters cell to the quick run, writing into ``out``."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = f"QUICK = True\nOUT = {str(out)!r}"
    return nb


def run(nb, cwd):
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind in o.get("data", {})]


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_headless(name, tmp_path):
    nb = nbformat.reads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"), as_version=4)
    cwd = tmp_path if name == "tutorial" else NOTEBOOKS  # the tutorial writes into its folder
    run(quick(nb, tmp_path), cwd)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    if name != "tutorial":  # the pictures went to OUT
        assert any(p.suffix in (".png", ".svg") for p in tmp_path.iterdir())
    if name == "xor":  # the picture and the step page, inline
        assert len(outputs(nb, "image/svg+xml")) == 1
        (page,) = [o for o in outputs(nb, "text/html") if "<iframe srcdoc=" in o["data"]["text/html"]]
        assert "&lt;svg" in page["data"]["text/html"]


def test_draw_graph_and_backward_steps_show_themselves_in_a_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport tinygrad_edu as tg\n"
        "x = tg.Tensor([1.0, -2.0], requires_grad=True, label='x')\ny = (x * x).sum()",
        "tg.draw_graph(y)", "tg.backward_steps(y)")])
    run(nb, tmp_path)
    svg, page = nb.cells[1].outputs[0]["data"], nb.cells[2].outputs[0]["data"]
    assert "<svg" in svg["image/svg+xml"] and ">Σx²</text>" in svg["image/svg+xml"]
    html = page["text/html"]
    assert html.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and html.count("&lt;svg") == 1
    assert "Forward 2/2:" in html and "Backward 2/2:" in html
