"""The command line trusts nothing it is given.

A mistake in the arguments is found before anything runs: one line on stderr that names the
flag, exit status 2, no traceback, no file written. A failure while running (a file that
cannot be written, no renderer, no solution, Ctrl-C) is one line too, status 1 or 130, and
``--debug`` shows the traceback instead. Also the workbook commands (exercises, check).
"""
import math
import os
import pathlib
import signal
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import draw, xor_demo
from tinygrad_edu.__main__ import build_parser, dpi_number, main, positive_float, seed_number

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROG = "python -m tinygrad_edu"
needs_renderer = pytest.mark.skipif(not draw.available_renderers(), reason="no Graphviz renderer installed")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty working folder holding one file, ``a_file``, to put paths under."""
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line_error(err, command="xor"):
    """Assert ``err`` is exactly one line, ``PROG command: error: ...``; return it."""
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line:\n{err}"
    assert err.startswith(f"{PROG} {command}: error: "), err
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------------------------------
# Mistakes in the arguments: status 2, one line naming the flag, nothing run or written.
# ---------------------------------------------------------------------------------------
BAD_XOR_ARGUMENTS = [  # (arguments after "xor", the flag the message must name); {tmp}: the folder
    (["--out", ""], "--out"),
    (["--out", "   "], "--out"),
    (["--out", "{tmp}"], "--out"),  # an existing folder
    (["--out", "."], "--out"),
    (["--out", "pictures/"], "--out"),  # a trailing slash names a folder
    (["--out", "a_file/xor.svg"], "--out"),  # a file where a folder must be
    (["--out", "x.bmp"], "--out"),  # a suffix that is no picture format
    (["--format", "bmp"], "--format"),
    (["--format", ""], "--format"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--seed", "seven"], "--seed"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "fast"], "--lr"),
    (["--steps", "{tmp}"], "--steps"),
    (["--steps", ""], "--steps"),
    (["--steps", "pages/"], "--steps"),
    (["--steps", "a_file/page.html"], "--steps"),
    (["--steps", "xor.svg"], "--steps"),  # the picture's own file
    (["--dpi", "0"], "--dpi"),
    (["--dpi", "-3"], "--dpi"),
    (["--dpi", "1.5"], "--dpi"),
    (["--dpi", "100000"], "--dpi"),
    (["--dpi", "150"], "--dpi"),  # the picture is an SVG: dpi is for PNG
    (["--rankdir", "XY"], "--rankdir"),
    (["--start", "zero"], "--start"),
    (["--colour"], "--colour"),
]


@pytest.mark.parametrize("argv, flag", BAD_XOR_ARGUMENTS, ids=[" ".join(a) or "''" for a, _ in BAD_XOR_ARGUMENTS])
def test_a_bad_argument_is_one_line_status_2_and_nothing_is_written(argv, flag, folder, capsys):
    with pytest.raises(SystemExit) as done:
        main(["xor", *(a.format(tmp=folder) for a in argv)])
    assert done.value.code == 2
    out, err = capsys.readouterr()
    assert flag in one_line_error(err)
    assert out == ""  # no part of the demo ran
    assert [p.name for p in folder.iterdir()] == ["a_file"]  # and nothing was written


def test_a_bad_renderer_setting_is_found_before_anything_runs(folder, capsys, monkeypatch):
    monkeypatch.setenv(draw.RENDERER_ENV, "cairo")
    with pytest.raises(SystemExit) as done:
        main(["xor"])
    assert done.value.code == 2
    assert draw.RENDERER_ENV in one_line_error(capsys.readouterr().err)
    assert [p.name for p in folder.iterdir()] == ["a_file"]


@pytest.mark.parametrize("argv, flag", [
    (["--seed", "-1"], "--seed"),
    (["--lr", "nan"], "--lr"),
    (["--out", ""], "--out"),
    (["--steps", "."], "--steps"),
    (["--out", "a_file/sub/xor.svg"], "--out"),
])
def test_the_real_command_line_says_one_line_and_exits_2(argv, flag, folder):
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "xor", *argv], cwd=folder,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert flag in one_line_error(result.stderr)
    assert result.stdout == ""
    assert [p.name for p in folder.iterdir()] == ["a_file"]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_lr_accepts_exactly_the_positive_finite_numbers(x):
    if math.isfinite(x) and x > 0:
        assert positive_float(repr(x)) == x
    else:
        with pytest.raises(Exception, match="must be a finite number above 0"):
            positive_float(repr(x))


@given(st.integers(min_value=-2**40, max_value=2**40))
def test_seed_accepts_exactly_what_numpy_accepts(n):
    if 0 <= n < 2**32:
        assert seed_number(str(n)) == n
        np.random.default_rng(n)
        np.random.seed(n)  # the legacy generator takes the same range
    else:
        with pytest.raises(Exception, match="from 0 to 4294967295"):
            seed_number(str(n))


@given(st.integers(min_value=-10, max_value=5000))
def test_dpi_accepts_1_to_1200(n):
    if 1 <= n <= 1200:
        assert dpi_number(str(n)) == n
    else:
        with pytest.raises(Exception, match="from 1 to 1200"):
            dpi_number(str(n))


def test_spellings_that_are_fine():
    args = build_parser().parse_args(["xor", "--format", "PNG", "--rankdir", "tb", "--start", "Random",
                                      "--dpi", "200", "--steps", "page", "--seed", "4294967295", "--lr", "1e-3"])
    assert (args.format, args.rankdir, args.start, args.dpi) == ("png", "TB", "random", 200)
    assert (args.steps, args.seed, args.lr) == ("page", 2**32 - 1, 0.001)


# ---------------------------------------------------------------------------------------
# Output folders are created; --steps needs no .html suffix.
# ---------------------------------------------------------------------------------------
@needs_renderer
def test_missing_output_folders_are_created(folder, capsys):
    assert main(["xor", "--out", "pictures/today/xor.svg", "--steps", "pages/backprop"]) == 0
    assert ET.parse(folder / "pictures/today/xor.svg").getroot().tag.endswith("svg")
    assert (folder / "pages/backprop").read_text(encoding="utf-8").count("<svg") == 1


# ---------------------------------------------------------------------------------------
# Failures while running: one line, status 1 (130 for Ctrl-C); --debug re-raises.
# ---------------------------------------------------------------------------------------
def refuse_pictures(monkeypatch):
    """Make writing a picture fail as a read-only folder would (the tests may run as root)."""
    write_bytes, write_text = pathlib.Path.write_bytes, pathlib.Path.write_text

    def refuse(write):
        def patched(self, *args, **kwargs):
            if self.suffix in (".svg", ".png", ".gv"):
                raise PermissionError(13, "Permission denied", str(self))
            return write(self, *args, **kwargs)
        return patched

    monkeypatch.setattr(pathlib.Path, "write_bytes", refuse(write_bytes))
    monkeypatch.setattr(pathlib.Path, "write_text", refuse(write_text))


def test_an_unwritable_picture_is_one_line_status_1(folder, capsys, monkeypatch):
    refuse_pictures(monkeypatch)
    assert main(["xor", "--out", "locked/xor.svg"]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "Permission denied" in err and "xor." in err


def test_debug_shows_the_traceback(folder, monkeypatch):
    refuse_pictures(monkeypatch)
    with pytest.raises(PermissionError):
        main(["xor", "--debug"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that folder permissions bind")
def test_a_read_only_folder_is_one_line_status_1(folder, capsys):
    (folder / "locked").mkdir(mode=0o555)
    assert main(["xor", "--out", "locked/xor.svg"]) == 1
    assert "Permission denied" in one_line_error(capsys.readouterr().err)


def test_a_render_error_is_one_line_status_1(folder, capsys, monkeypatch):
    def no_graphviz(*args, **kwargs):
        raise draw.RenderError(draw.INSTALL_HELP)  # several lines of advice

    monkeypatch.setattr(xor_demo, "run", no_graphviz)
    assert main(["xor"]) == 1
    assert 'pip install "tinygrad_edu[render]"' in one_line_error(capsys.readouterr().err)


def test_no_solution_is_one_line_status_1(folder, capsys, monkeypatch):
    monkeypatch.setattr(xor_demo, "MAX_ATTEMPTS", 2)  # two hopeless starts are enough
    assert main(["xor", "--lr", "1e-9"]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "XOR was not solved" in err and "lr 1e-09" in err


def test_ctrl_c_in_process_is_one_line_status_130(folder, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(xor_demo, "part3_training", interrupted)
    assert main(["xor"]) == 130
    assert capsys.readouterr().err == f"{PROG} xor: interrupted\n"


def test_ctrl_c_on_the_real_command_line(folder):
    """SIGINT while training (a learning rate so small that it runs for seconds)."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "tinygrad_edu", "xor", "--lr", "1e-9"], cwd=folder,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("3. Training"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == f"{PROG} xor: interrupted\n"


def test_a_closed_pipe_ends_quietly(folder):
    """`python -m tinygrad_edu xor | head -1`: no error message about the pipe, status 1."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "tinygrad_edu", "xor", "--lr", "1e-9"], cwd=folder,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        proc.stdout.close()  # the reader goes away; training keeps printing for seconds
        err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert err == ""


# ---------------------------------------------------------------------------------------
# The workbook: `exercises DIR` and `check DIR [--only NAME]`.
# ---------------------------------------------------------------------------------------
@pytest.fixture
def workbook(monkeypatch):
    """A stand-in tinygrad_edu.exercises that records its calls; ``.status`` is check's answer."""
    fake = types.ModuleType("tinygrad_edu.exercises")
    fake.calls, fake.status = [], 0
    fake.write_workbook = lambda folder: fake.calls.append(("write", folder))

    def check_workbook(folder, only=None):
        fake.calls.append(("check", folder, only))
        return fake.status

    fake.check_workbook = check_workbook
    monkeypatch.setitem(sys.modules, "tinygrad_edu.exercises", fake)
    return fake


def test_exercises_writes_into_a_new_or_empty_folder(folder, workbook):
    (folder / "empty").mkdir()
    assert main(["exercises", "new/book"]) == 0
    assert main(["exercises", "empty"]) == 0
    assert workbook.calls == [("write", "new/book"), ("write", "empty")]


@pytest.mark.parametrize("status", [0, 1])
def test_check_passes_only_and_returns_the_status(folder, workbook, status):
    (folder / "book").mkdir()
    workbook.status = status
    assert main(["check", "book", "--only", "relu"]) == status
    assert main(["check", "book"]) == status
    assert workbook.calls == [("check", "book", "relu"), ("check", "book", None)]


@pytest.mark.parametrize("argv, command", [
    (["exercises", "full"], "exercises"),  # not empty: the student's answers would be overwritten
    (["exercises", "a_file"], "exercises"),
    (["exercises", ""], "exercises"),
    (["check", "missing"], "check"),
    (["check", "a_file"], "check"),
    (["check", "full", "--only", ""], "check"),
    (["check", "full", "--bogus"], "check"),
])
def test_workbook_mistakes_are_one_line_status_2(argv, command, folder, workbook, capsys):
    (folder / "full").mkdir()
    (folder / "full" / "answers.py").write_text("# mine")
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = one_line_error(capsys.readouterr().err, command)
    assert "DIR" in err or "--only" in err or "--bogus" in err
    assert workbook.calls == []  # the package was never called


@pytest.mark.parametrize("argv", [["exercises", "book"], ["check", "."]])
def test_without_the_exercises_package_one_line_status_1(argv, folder, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygrad_edu.exercises", None)  # importing it now fails
    assert main(argv) == 1
    assert "tinygrad_edu.exercises" in one_line_error(capsys.readouterr().err, argv[0])
    assert not (folder / "book").exists()


@pytest.mark.parametrize("argv, function", [(["exercises", "book"], "write_workbook"), (["check", "."], "check_workbook")])
def test_an_unfinished_exercises_package_is_one_line_status_1(argv, function, folder, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygrad_edu.exercises", types.ModuleType("tinygrad_edu.exercises"))
    assert main(argv) == 1
    assert f"tinygrad_edu.exercises.{function} is missing" in one_line_error(capsys.readouterr().err, argv[0])


def test_the_exercises_package_is_imported_only_by_its_commands():
    code = "import sys, tinygrad_edu.__main__; print('tinygrad_edu.exercises' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
