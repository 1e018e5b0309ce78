"""Writing a workbook: one small Python file per exercise, and a README listing them.

Each file holds, in its docstring, the task, the lecture's math and a hint; then the code:
the imports, any helpers it gives (the graph exercises' ``Node``), and the stub the student
fills in, a function that raises ``NotImplementedError`` until it is done.
"""
from __future__ import annotations

import ast
import importlib.util
import textwrap
from pathlib import Path

from .catalog import EXERCISES, file_name, find


def _block(text):
    return textwrap.indent(text.strip("\n"), "    ")


def render(exercise):
    """The text of the exercise's file."""
    number = EXERCISES.index(exercise) + 1
    doc = (f"Exercise {number} of {len(EXERCISES)}: {exercise.title}.\n\n"
           f"Task\n{_block(exercise.task)}\n\n"
           f"The math\n{_block(exercise.math)}\n\n"
           f"Where it is in the lecture\n{_block(textwrap.fill(exercise.lecture, 88))}\n\n"
           f"Hint\n{_block(exercise.hint)}\n\n"
           f"Check your answer, from the workbook's folder:\n"
           f"    python -m tinygrad_edu check . --only {exercise.name}\n")
    if '"""' in doc or "\\" in doc:
        raise ValueError(f"render: the texts of exercise {exercise.name!r} contain a triple quote or a backslash")
    return f'"""{doc}"""\n{exercise.code}'


def readme():
    """The workbook's README.md: how to start, and the exercises in order."""
    rows = "\n".join(f"| {i} | `{file_name(ex)}` | {ex.title} | {ex.minutes} min |"
                     for i, ex in enumerate(EXERCISES, start=1))
    total = sum(ex.minutes for ex in EXERCISES)
    return f"""# Backprop by hand: a workbook

Each file below is one exercise. Open it, read the task, the math and the hint at the top,
and replace the line `raise NotImplementedError(...)` with your code. Then check it:

    python -m tinygrad_edu check .                       # every exercise, from this folder
    python -m tinygrad_edu check . --only mul_backward   # one exercise (its name or number)

The check prints PASS, FAIL or NOT DONE for each exercise, and under each failure what went
wrong: the input, the expected and the received numbers, and the name of the mistake when
it is a known one. Each exercise runs on its own, with a time limit, so a crash or an
endless loop in one does not stop the others. Work in the order below (about {total} minutes
in all); the later exercises use what the earlier ones teach, but each file stands alone.

| # | file | exercise | time |
| --- | --- | --- | --- |
{rows}
"""


def write_workbook(directory, verbose=True):
    """Write the workbook into ``directory`` (created if needed) and return the files' paths.

    Refuses a directory that exists and is not empty, so that no one's answers are ever
    overwritten: ValueError naming it.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ValueError(f"write_workbook: {str(directory)!r} is a file, not a directory; give a new directory's name")
    if path.is_dir() and any(path.iterdir()):
        entries = sorted(p.name for p in path.iterdir())
        raise ValueError(f"write_workbook: the directory {str(directory)!r} is not empty (it holds {len(entries)} "
                         f"entries, e.g. {entries[0]!r}); choose a new or empty directory so that nothing in it "
                         "is overwritten")
    path.mkdir(parents=True, exist_ok=True)
    written = [path / "README.md"]
    written[0].write_text(readme(), encoding="utf-8")
    for ex in EXERCISES:
        written.append(path / file_name(ex))
        written[-1].write_text(render(ex), encoding="utf-8")
    if verbose:
        print(f"Wrote {len(EXERCISES)} exercises and a README.md to {path}/.\n"
              f"Start with {path / file_name(EXERCISES[0])}; check your work with\n"
              f"    python -m tinygrad_edu check {path}")
    return written


def fill_in(directory, name, source):
    """Put ``source`` (a function's text) in place of the function ``name`` in its exercise file.

    How the tests (and a teacher preparing a demonstration) write a reference solution or a
    typical wrong one into a workbook: ``fill_in(dir, "mul_backward", solutions.source("mul_backward"))``.
    """
    exercise = find(name)
    path = Path(directory) / file_name(exercise)
    text = path.read_text(encoding="utf-8")
    defs = [node for node in ast.parse(text).body
            if isinstance(node, ast.FunctionDef) and node.name == exercise.name]
    if not defs:
        raise ValueError(f"fill_in: {path} has no function {exercise.name}() to replace")
    lines = text.splitlines(keepends=True)
    start = min([defs[0].lineno, *[d.lineno for d in defs[0].decorator_list]]) - 1
    new = textwrap.dedent(source).strip("\n") + "\n"
    path.write_text("".join(lines[:start]) + new + "".join(lines[defs[0].end_lineno:]), encoding="utf-8")
    return path


def load_module(path):
    """Run the student's file and return it as a module (by its path: the names start with digits)."""
    path = Path(path).resolve()
    spec = importlib.util.spec_from_file_location(f"exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
