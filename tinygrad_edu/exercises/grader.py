"""Grading a workbook: each exercise file in its own process, with a time limit.

Running each file in a separate process means that an endless loop, a crash or an
``exit()`` in one exercise fails that exercise only. On Linux the process is a fork of
this one, so numpy, Hypothesis and the engine are already imported and a check starts in
milliseconds; elsewhere it is a fresh interpreter. The report has one line per exercise
(PASS, FAIL or NOT DONE), the explanation under each failure, and a summary line.
"""
from __future__ import annotations

import io
import multiprocessing
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from . import checks
from .catalog import EXERCISES, file_name, find
from .checks import Failure, NotDone
from .workbook import load_module

TIME_LIMIT = 20.0  # seconds per exercise; the reference solutions need well under one


@dataclass
class Result:
    """The outcome of one exercise: its status, the mistake's name (if known) and why."""

    exercise: object
    status: str  # "PASS", "FAIL" or "NOT DONE"
    mistake: str | None = None
    explanation: str = ""
    printed: str = ""  # the last lines the student's code printed
    seconds: float = 0.0


def grade(path, exercise):
    """Load the student's file and run the exercise's check on it: (status, mistake, explanation).

    Runs in the child process; every way a student's code can go wrong ends as a status.
    """
    path = Path(path).resolve()
    checks.STUDENT_FILE = str(path)
    try:
        exercise.check(load_module(path))
    except (NotDone, NotImplementedError):
        return ("NOT DONE", None, f"not done yet: {exercise.name}() still raises NotImplementedError; "
                                  "replace that line with your code")
    except Failure as f:
        return ("FAIL", f.mistake, f.text)
    except SyntaxError as e:
        return ("FAIL", "syntax error",
                f"your file does not parse: {e.msg} at line {e.lineno}:\n    {(e.text or '').strip()}")
    except RecursionError as e:
        return ("FAIL", "recursion too deep",
                f"your code raised RecursionError{checks.student_line(e)}: does a function call itself without end?")
    except SystemExit:
        return ("FAIL", None, "your code called exit(): return a value instead")
    except Exception as e:  # noqa: BLE001 - explained to the student
        line = checks.student_line(e)
        return ("FAIL", None, f"{'your code raised' if line else 'the check stopped at'} {type(e).__name__}: {e}{line}")
    return ("PASS", None, "")


def _child(path, name, conn):
    """The child process: grade one file, send (status, mistake, explanation, printed) back."""
    printed = io.StringIO()
    try:
        with redirect_stdout(printed), redirect_stderr(printed):
            result = grade(path, find(name))
    except BaseException as e:  # noqa: BLE001 - the parent must always hear back
        result = ("FAIL", None, f"the grader could not check this exercise: {type(e).__name__}: {e}")
    tail = printed.getvalue().strip().splitlines()[-8:]
    conn.send((*result, "\n".join(line[:200] for line in tail)))
    conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def run_one(path, exercise, timeout=TIME_LIMIT):
    """Grade one exercise file in a separate process that is stopped after ``timeout`` seconds."""
    start = time.perf_counter()
    if not Path(path).is_file():
        return Result(exercise, "FAIL", "file missing", f"{path} is missing: the workbook needs it (a fresh "
                                                        "workbook from `python -m tinygrad_edu exercises DIR` has it)")
    ctx = _context()
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(str(path), exercise.name, writer), daemon=True)
    proc.start()
    writer.close()
    try:
        if reader.poll(timeout):
            status, mistake, text, printed = reader.recv()
            result = Result(exercise, status, mistake, text, printed)
        else:
            result = Result(exercise, "FAIL", f"took longer than {timeout:g} s",
                            f"took longer than {timeout:g} s, so it was stopped. Is there an endless loop, "
                            "e.g. a while loop whose condition never turns false, or a graph walk that "
                            "revisits nodes?")
    except EOFError:  # the child died without a word: a crash (e.g. os._exit or a segfault)
        proc.join(5)
        result = Result(exercise, "FAIL", "crashed", f"the process running your code stopped without a result "
                                                     f"(exit code {proc.exitcode}).")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        reader.close()
    result.seconds = time.perf_counter() - start
    return result


def grade_workbook(directory, only=None, timeout=TIME_LIMIT, on_result=None):
    """Grade the workbook in ``directory`` (or only the exercise ``only``); a list of Results.

    ``on_result(result)`` is called as each one finishes (the report prints as it goes).
    """
    chosen = EXERCISES if only is None else [find(only)]
    results = []
    for ex in chosen:
        results.append(run_one(Path(directory) / file_name(ex), ex, timeout))
        if on_result:
            on_result(results[-1])
    return results


def report_line(result):
    """'FAIL      03 div_backward       the backward rule of division: sign error', and why."""
    ex = result.exercise
    head = f"{result.status:<9} {EXERCISES.index(ex) + 1:02d} {ex.name:<20} {ex.title}"
    if result.status == "PASS":
        return head
    if result.status == "NOT DONE":
        return f"{head}: not done yet"
    lines = [f"{head}: {result.mistake}" if result.mistake else head]
    lines += ["    " + line for line in result.explanation.splitlines()]
    if result.printed:
        lines += ["    your code printed (the last lines):"] + ["      " + ln for ln in result.printed.splitlines()]
    return "\n".join(lines)


def summary(results):
    """The last line: how many pass, fail, and are not done yet."""
    count = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL", "NOT DONE")}
    return (f"{count['PASS']} of {len(results)} pass, {count['FAIL']} fail, {count['NOT DONE']} not done yet."
            + (" All done!" if count["PASS"] == len(results) else ""))


def check_workbook(directory, only=None, timeout=TIME_LIMIT):
    """Grade the workbook in ``directory`` and print the report; 0 when all pass, 1 otherwise.

    ``only`` picks one exercise by name ('div_backward'), number ('3') or file name.
    """
    if not Path(directory).is_dir():
        print(f"check: there is no workbook at {directory!r}; write one with "
              f"`python -m tinygrad_edu exercises {directory}`", file=sys.stderr)
        return 1
    if only is not None:
        try:
            find(only)
        except ValueError as e:
            print(f"check: {e}", file=sys.stderr)
            return 1
    count = 1 if only is not None else len(EXERCISES)
    print(f"Checking the workbook in {directory} ({count} exercise{'s' * (count > 1)}, at most {timeout:g} s each)\n")
    results = grade_workbook(directory, only, timeout, on_result=lambda r: print(report_line(r), flush=True))
    print("\n" + summary(results))
    pending = [r for r in results if r.status != "PASS"]
    if pending and only is None:
        ex = pending[0].exercise
        print(f"Next: {Path(directory) / file_name(ex)}  (alone: python -m tinygrad_edu check {directory} "
              f"--only {ex.name})")
    return 0 if not pending else 1
