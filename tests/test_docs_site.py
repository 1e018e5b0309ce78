"""The documentation site: `mkdocs build --strict` succeeds, and the API reference lists
every public name of the package.

The build needs the `docs` extra (mkdocs, mkdocs-material, mkdocstrings-python); without
it these tests are skipped. It runs once per session into a temporary folder, so nothing
lands in the repository.

"Public" means: every name in ``tinygrad_edu.__all__``, and in every module of the package
every function and class the module itself defines whose name has no leading underscore,
with the public methods and properties of those classes. The tests find the modules by
walking the package, so a new module fails here until a reference page documents it.
"""
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

for _module, _package in (("mkdocs", "mkdocs"), ("material", "mkdocs-material"), ("mkdocstrings", "mkdocstrings"),
                          ("mkdocstrings_handlers.python", "mkdocstrings-python")):
    pytest.importorskip(_module, reason=f"the docs extra is not installed ({_package} is missing): "
                                        f'pip install ".[docs]"')

import tinygrad_edu  # noqa: E402

# Modules that are no part of the API reference: the command line (documented by --help
# and the XOR demo's page) and the exercise workbook with its grader (docs/exercises.md).
NOT_IN_REFERENCE = {"tinygrad_edu.__main__"}
NOT_IN_REFERENCE_PACKAGES = ("tinygrad_edu.exercises",)

# The pages of the nav, as built: (source under docs/, built HTML under the site folder).
NAV_PAGES = {
    "Home": ("index.md", "index.html"),
    "Tutorial": ("tutorial.md", "tutorial/index.html"),
    "Exercises": ("exercises.md", "exercises/index.html"),
    "Pictures": ("pictures.md", "pictures/index.html"),
    "Speed": ("speed.md", "speed/index.html"),
    "Compiler": ("compiler.md", "compiler/index.html"),
    "API reference": ("reference/index.md", "reference/index.html"),
}


def reference_modules():
    """Every module of the package that the API reference must document."""
    names = []
    for info in pkgutil.walk_packages(tinygrad_edu.__path__, "tinygrad_edu."):
        if info.name in NOT_IN_REFERENCE or info.name.startswith(NOT_IN_REFERENCE_PACKAGES):
            continue
        names.append(info.name)
    return sorted(names)


def _defined_here(module):
    """(name, object) for the public functions and classes that ``module`` itself defines."""
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if obj.__module__ == module.__name__:
            yield name, obj


def _is_tensor_mixin(cls):
    return cls is not tinygrad_edu.Tensor and cls in tinygrad_edu.Tensor.__mro__


def _members(cls):
    """The public methods and properties that ``cls`` defines itself; inherited ones are
    documented with the class that defines them. The Tensor is the exception: its methods
    live in mixins (``methods.py``, ``methods_more.py``), and its page shows them all."""
    own = [cls] + ([k for k in cls.__mro__[1:] if k.__module__.startswith("tinygrad_edu")]
                   if cls is tinygrad_edu.Tensor else [])
    for klass in own:
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                yield name, value, klass


def public_names(aliases=False):
    """Dotted paths (``tinygrad_edu.tensor.Tensor.backward``) of every public name.

    A method that is another name for one defined before it (``asin = arcsin``) is an
    *alias*: mkdocstrings lists it under neither name, so its page names it in prose.
    ``aliases=True`` returns those instead, as ``{path: the name it stands for}``.
    """
    paths, alias_paths = set(), {}
    for module_name in reference_modules():
        module = importlib.import_module(module_name)
        for name, obj in _defined_here(module):
            paths.add(f"{module_name}.{name}")
            if not inspect.isclass(obj) or _is_tensor_mixin(obj):  # mixins: on the Tensor's page
                continue
            for member, value, _ in _members(obj):
                target = getattr(value, "__name__", member)
                if target != member:
                    alias_paths[f"{module_name}.{name}.{member}"] = target
                else:
                    paths.add(f"{module_name}.{name}.{member}")
    return alias_paths if aliases else paths


def canonical(obj):
    """The dotted path under which ``obj`` is documented: where it is defined."""
    if inspect.ismodule(obj):
        return obj.__name__
    return f"{obj.__module__}.{obj.__qualname__}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once with ``mkdocs build --strict`` into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def reference_ids(site):
    """{id: page} of every object heading in the built API reference."""
    ids = {}
    for page in (site / "reference").rglob("*.html"):
        for found in re.findall(r'id="(tinygrad_edu[\w.]*)"', page.read_text(encoding="utf-8")):
            ids[found] = page.relative_to(site)
    return ids


def test_strict_build_makes_every_page_of_the_nav(site):
    for title, (source, built) in NAV_PAGES.items():
        assert (DOCS / source).is_file(), f"the nav's {title} page, docs/{source}, is missing"
        assert (site / built).is_file(), f"the nav's {title} page was not built ({built})"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "python -m tinygrad_edu xor" in home  # the README's quick start


def test_the_docs_stand_on_their_own():
    """No page points outside the site: not at ../shared, not at an API contract."""
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "API.md" not in text, page.relative_to(ROOT)
        for target in re.findall(r"\]\(([^)#]+)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).resolve().is_relative_to(DOCS), \
                f"{page.relative_to(ROOT)} links to {target}, outside docs/"


def test_every_module_is_in_the_reference(reference_ids):
    missing = [m for m in reference_modules() if not any(i.startswith(m + ".") for i in reference_ids)]
    assert not missing, (f"modules with no page in the API reference: {missing}; add "
                         f"'::: <module>' to a page under docs/reference/ (and the page to mkdocs.yml's nav)")


def test_every_public_name_is_in_the_reference(reference_ids):
    missing = sorted(public_names() - set(reference_ids))
    assert not missing, f"{len(missing)} public names are missing from the API reference: {missing}"


def test_every_alias_is_named_next_to_its_target(site, reference_ids):
    for path, target in public_names(aliases=True).items():
        owner, alias = path.rsplit(".", 1)
        target_path = f"{owner}.{target}"
        assert target_path in reference_ids, f"{path} stands for {target_path}, which is not in the reference"
        page = (site / reference_ids[target_path]).read_text(encoding="utf-8")
        assert re.search(rf"<code>{alias}</code>\s*=\s*<code>{target}</code>", page), \
            f"{path} is another name for {target}: say so on {reference_ids[target_path]} (`{alias}` = `{target}`)"


def test_every_name_of_tg_is_in_the_reference(reference_ids):
    for name in tinygrad_edu.__all__:
        path = canonical(getattr(tinygrad_edu, name))
        assert (path in reference_ids or any(i.startswith(path + ".") for i in reference_ids)), \
            f"tg.{name} ({path}) is not in the API reference"


# Public names without a docstring on the day this test was written, in files other
# engineers own: reported to them. The list may only shrink; a name missing from it that
# has no docstring fails the test below.
UNDOCUMENTED_TODAY = {
    "tinygrad_edu.compiler_codegen.Names.numbered", "tinygrad_edu.compiler_codegen.Names.take",
    "tinygrad_edu.compiler_codegen.Writer.comment", "tinygrad_edu.compiler_codegen.Writer.hint",
    "tinygrad_edu.compiler_codegen.Writer.index", "tinygrad_edu.compiler_codegen.Writer.name_values",
    "tinygrad_edu.compiler_codegen.Writer.param", "tinygrad_edu.compiler_codegen.Writer.write",
    "tinygrad_edu.compiler_program.Program.results", "tinygrad_edu.compiler_program.Value.size",
    "tinygrad_edu.composites_layout.triangle_mask", "tinygrad_edu.functional.output_of",
    "tinygrad_edu.init.kaiming_std", "tinygrad_edu.layers.positive_int",
    "tinygrad_edu.optim.Optimizer.step", "tinygrad_edu.optim.SGD.step", "tinygrad_edu.optim.Adam.step",
    "tinygrad_edu.optim_more.StepLR.next_lr", "tinygrad_edu.optim_more.CosineAnnealingLR.next_lr",
}


def _resolve(path):
    """(object, the class it was found in or None) for a dotted path from public_names()."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        owner = None
        for part in parts[i:]:
            owner = obj
            obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
        return getattr(obj, "__func__", obj), owner if inspect.isclass(owner) else None
    raise LookupError(path)


def _exempt(obj, owner, name):
    """A primitive op's class and its forward/backward/explain: the rule is the source, with
    the derivative in a comment, and the ops page shows it. A layer's forward: the class
    docstring states the function it computes."""
    from tinygrad_edu import nn, ops

    if inspect.isclass(obj) and issubclass(obj, ops.Op):
        return True
    if owner is not None and issubclass(owner, ops.Op) and name in ("forward", "backward", "explain"):
        return True
    return owner is not None and issubclass(owner, nn.Module) and name == "forward"


def test_every_public_name_has_a_docstring():
    undocumented = []
    for path in sorted(public_names()):
        obj, owner = _resolve(path)
        doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
        if not (doc and doc.strip()) and not _exempt(obj, owner, path.rsplit(".", 1)[1]):
            undocumented.append(path)
    new = sorted(set(undocumented) - UNDOCUMENTED_TODAY)
    assert not new, f"public names without a docstring (say what each does and why): {new}"


def test_the_tensors_attributes_are_described():
    """data, grad, requires_grad, label and op are slots, which mkdocstrings cannot see: the
    Tensor page describes them in its text."""
    text = (DOCS / "reference" / "tensor.md").read_text(encoding="utf-8")
    slots = [s for s in tinygrad_edu.Tensor.__slots__ if not s.startswith("_")]
    for slot in slots:
        assert f"`{slot}`" in text, f"Tensor.{slot} is not described on docs/reference/tensor.md"


def test_reference_pages_show_the_math(site):
    """Spot checks that the docstrings' math reaches the pages."""
    def page(name):
        return (site / "reference" / name / "index.html").read_text(encoding="utf-8")

    assert "ReLU(x) = max{0, x}" in page("composites")
    assert "∂L/∂X = G Yᵀ" in page("ops")  # matmul's rule, from the shown source
    assert "∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/n" in page("nn")  # mse_loss
    assert "(f(x + ε) − f(x − ε)) / 2ε" in page("autodiff")


def test_speed_page_shows_the_latest_benchmark_table():
    """Every row of the first table in benchmarks/README.md appears on the Speed page, numbers and all."""
    bench = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    speed = (DOCS / "speed.md").read_text(encoding="utf-8")
    start = bench.index("| task | floor (numpy) |")
    rows = []
    for line in bench[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append("| " + " | ".join(c.strip() for c in line.strip("|").split("|")[:6]) + " |")
    assert len(rows) >= 7
    for row in rows:
        assert row in speed, f"docs/speed.md lacks the benchmark row {row}"
