"""The grader's tools, shared by every exercise's check.

A check calls the student's function (``call``), compares what came back with the right
answer (``expect_close``), and raises ``Failure`` with an explanation a student can act on:
the inputs, the expected and the received numbers and, when the answer equals the answer
of a known wrong variant (a ``Mistake``), the name of that mistake. ``for_all`` runs a check
on generated cases, with Hypothesis when it is installed (the failing case is shrunk to the
smallest one) and with seeded random cases otherwise.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass

import numpy as np

EXAMPLES = 20  # generated cases per property: enough to find the usual bugs, quick on 2 cores
STUDENT_FILE = None  # the path of the file being graded (set by the grader), to name the line of an error


class NotDone(Exception):
    """The student's function still raises ``NotImplementedError``: the stub is untouched."""


class Failure(Exception):
    """A wrong answer. ``mistake`` names a known mistake (or is None); ``text`` explains it."""

    def __init__(self, text, mistake=None):
        if mistake and mistake not in text:  # the explanation always says the mistake's name
            text = f"{mistake}: {text}"
        super().__init__(text)
        self.text, self.mistake = text, mistake


@dataclass(frozen=True)
class Exercise:
    """One exercise: the texts of its file, the student's stub, and the grader's check.

    ``name`` is the function the student writes (and the name for ``check --only``);
    ``code`` is the Python part of the file (imports, given helpers, the stub);
    ``check(module)`` returns when the student's module is right, else raises Failure.
    """

    name: str
    title: str
    lecture: str  # the part of the lecture it practises
    minutes: int  # time a student needs, about
    task: str
    math: str
    hint: str
    code: str
    check: object


@dataclass
class Mistake:
    """A known wrong variant: its name, its answer on the same inputs, and what to fix."""

    name: str
    value: object
    advice: str


def student_function(module, name):
    """The function ``name`` from the student's file, or a Failure saying it is missing."""
    fn = getattr(module, name, None)
    if not callable(fn):
        raise Failure(f"your file has no function called {name}(): keep the name and arguments of the stub.")
    return fn


def call(fn, *args, inputs=None, name=None):
    """Call the student's ``fn`` on copies of ``args`` (so it cannot change our inputs).

    ``NotImplementedError`` raised in the student's file means the stub is untouched:
    ``NotDone``. Any other exception
    becomes a Failure that names it, the line of the student's file it came from, and the
    inputs (``inputs``, a dict of name → value, shown to the student). RecursionError and
    FloatingPointError pass through: the checks that provoke them explain them.
    """
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        return fn(*args)
    except (RecursionError, FloatingPointError):
        raise
    except Exception as e:  # noqa: BLE001 - every error in student code is explained, not shown raw
        if isinstance(e, NotImplementedError) and (STUDENT_FILE is None or student_line(e)):
            raise NotDone(str(e) or "the function still raises NotImplementedError") from None
        raise Failure(
            f"your {name or getattr(fn, '__name__', 'function')}() raised {type(e).__name__}: {e}"
            + student_line(e) + (f"\n  with\n{show(inputs)}" if inputs else "")
        ) from None


def student_line(error):
    """'at line 12 of your file: ...': the last line of the student's file in the error's traceback."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == STUDENT_FILE]
    if not frames:
        return ""
    return f"\n  at line {frames[-1].lineno} of your file: {(frames[-1].line or '').strip()}"


def fmt(value, indent=0):
    """A number or array as short readable text; the lines of a matrix after the first are
    indented by ``indent`` spaces, the column where the text starts, so that they line up."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.8g}"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return fmt(value.item()) if value.dtype.kind == "f" else repr(value.item())
        text = np.array2string(value, precision=6, separator=", ", threshold=24, edgeitems=3,
                               max_line_width=90, suppress_small=False)
        return "\n".join(line.rstrip() for line in text.split("\n")).replace("\n", "\n" + " " * indent)
    return repr(value)


def show(inputs):
    """The inputs as an indented block of ``name = value`` lines."""
    return "\n".join(f"    {k} = {fmt(v, 7 + len(k))}" for k, v in inputs.items())


def as_array(what, got):
    """The student's answer as a float array; a Failure if it is None or not numbers."""
    if got is None:
        raise Failure(f"{what}: your function returned None. Did you forget the `return`?")
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failure(f"{what}: expected numbers, your function returned a {type(got).__name__}: "
                      f"{got!r:.100}") from None
    return arr


def expect_close(what, got, want, inputs, mistakes=(), rtol=1e-7, atol=1e-10):
    """Check the student's ``got`` against ``want``; explain the difference if any.

    ``what`` says which answer it is ("the gradient for y"), ``inputs`` are shown with the
    explanation, and ``mistakes`` are known wrong variants: if ``got`` equals one of them,
    the explanation starts with its name and gives its advice.
    """
    want = np.asarray(want, dtype=np.float64)
    got = as_array(what, got)
    if got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol):
        return
    for m in mistakes:
        value = np.asarray(m.value, dtype=np.float64)
        if value.shape == got.shape and np.all(np.isfinite(value)) and np.allclose(got, value, rtol=rtol, atol=atol):
            raise Failure(_explain(f"{what} is wrong: {m.name}.", got, want, inputs) + f"\n  {m.advice}", m.name)
    if got.shape != want.shape:
        raise Failure(f"{what} has shape {got.shape}, expected shape {want.shape}.\n  with\n{show(inputs)}")
    if not np.all(np.isfinite(got)):
        head = f"{what} contains {'nan' if np.isnan(got).any() else 'inf'}."
    else:
        k = np.unravel_index(np.argmax(np.abs(got - want) - rtol * np.abs(want)), want.shape)
        at = f" at element {tuple(int(i) for i in k)}" if want.ndim else ""
        head = f"{what} is wrong{at}: expected {fmt(want[k])}, received {fmt(got[k])}."
    raise Failure(_explain(head, got, want, inputs))


def _explain(head, got, want, inputs):
    return f"{head}\n  with\n{show(inputs)}\n  expected {fmt(want, 11)}\n  received {fmt(got, 11)}"


def unpack(what, got, n):
    """The student's answer as a tuple of ``n`` values (e.g. the pair (gx, gy))."""
    if not isinstance(got, (tuple, list)) or len(got) != n:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise Failure(f"{what}: return {n} values as a tuple, e.g. `return a, b`; your function returned {kind}.")
    return tuple(got)


def no_overflow():
    """A context in which numpy overflow, division by zero and invalid operations raise
    FloatingPointError instead of warning (underflow to 0 stays allowed): how the grader
    sees that a formula is unstable at large inputs."""
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


# ---------------------------------------------------------------------------------------
# Generated cases: the same ``draw`` interface over Hypothesis or over a seeded generator.
# ---------------------------------------------------------------------------------------
class _HypothesisDraw:
    """Draws values through Hypothesis, which can then shrink a failing case."""

    def __init__(self, data):
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        self.data, self.st, self.hnp = data, st, hnp

    def int(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, options):
        return self.data.draw(self.st.sampled_from(list(options)))

    def floats(self, shape, lo, hi):
        elements = self.st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        return self.data.draw(self.hnp.arrays(np.float64, shape, elements=elements))

    def ints(self, shape, lo, hi):
        return self.data.draw(self.hnp.arrays(np.int64, shape, elements=self.st.integers(lo, hi)))


class _RandomDraw:
    """Draws values from a seeded numpy generator (used when Hypothesis is not installed)."""

    def __init__(self, rng):
        self.rng = rng

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def floats(self, shape, lo, hi):
        return self.rng.uniform(lo, hi, shape)

    def ints(self, shape, lo, hi):
        return self.rng.integers(lo, hi + 1, shape)


def shape(draw, max_dims=3, max_side=4, min_dims=1):
    """A random array shape, e.g. (3,), (2, 4) or (1, 3, 2)."""
    return tuple(draw.int(1, max_side) for _ in range(draw.int(min_dims, max_dims)))


def nonzero(draw, shape_, lo=0.5, hi=3.0):
    """Random values with lo ≤ |value| ≤ hi and random signs (away from 0: for 1/x, log, kinks)."""
    return draw.floats(shape_, lo, hi) * np.where(draw.ints(shape_, 0, 1) == 1, 1.0, -1.0)


def for_all(make_case, check_case, examples=EXAMPLES):
    """Run ``check_case(make_case(draw))`` on ``examples`` generated cases.

    With Hypothesis, the Failure raised is the one of the smallest failing case it could
    shrink to (so the numbers in the explanation are few and simple), and the runs are
    derandomized: the same cases each time. Without it, seeded random cases, no shrinking.
    """
    try:
        from hypothesis import HealthCheck, Verbosity, given, settings, strategies as st
        from hypothesis.errors import Flaky
    except ImportError:
        rng = np.random.default_rng(0)
        for _ in range(examples):
            _checked(check_case, make_case(_RandomDraw(rng)), "a random case (install hypothesis to shrink it)")
        return

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              report_multiple_bugs=False)
    @given(st.data())
    def run(data):
        _checked(check_case, make_case(_HypothesisDraw(data)),
                 f"the smallest failing case Hypothesis found in {examples} random ones")

    try:
        run()
    except Flaky:  # the same input passed once and failed once
        raise Failure("on the same random input your function failed once and passed once. "
                      "Does it keep state between calls (a global variable, a default list)?") from None


def _checked(check_case, case, note):
    try:
        check_case(case)
    except Failure as f:
        raise Failure(f"{f.text}\n  ({note})", f.mistake) from None
