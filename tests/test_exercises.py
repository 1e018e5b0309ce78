"""The graded exercises: the workbook, the reference solutions, and the grader's explanations.

Each typical wrong solution below is written into a fresh workbook and graded; the test
asserts that it fails and that the explanation names the mistake it makes.
"""
import sys
import time

import pytest

from tinygrad_edu import exercises as ex
from tinygrad_edu.exercises import solutions


def _grade(tmp_path, name, source, timeout=ex.TIME_LIMIT):
    ex.write_workbook(tmp_path / "wb", verbose=False)
    ex.fill_in(tmp_path / "wb", name, source)
    (result,) = ex.grade_workbook(tmp_path / "wb", only=name, timeout=timeout)
    return result


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A workbook with every reference solution filled in."""
    directory = tmp_path_factory.mktemp("solved") / "wb"
    ex.write_workbook(directory, verbose=False)
    for exercise in ex.EXERCISES:
        ex.fill_in(directory, exercise.name, solutions.source(exercise.name))
    return directory


def test_the_reference_solutions_pass_every_exercise(solved):
    results = ex.grade_workbook(solved)
    failed = {r.exercise.name: r.explanation for r in results if r.status != "PASS"}
    assert failed == {}
    assert len(results) == len(ex.EXERCISES) >= 20


def test_check_workbook_reports_all_pass_and_returns_0(solved, capsys):
    assert ex.check_workbook(solved, only="relu") == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "1 of 1 pass, 0 fail, 0 not done yet. All done!" in out


WRONG = {  # exercise → typical wrong solutions, each with the name of its mistake
    "xor_weights": [
        ("def xor_weights():\n    return np.ones((2, 2)), np.array([0.0, 1.0]), np.array([1.0, -2.0]), 0.0",
         "sign error"),
        ("def xor_weights():\n    return np.ones((2, 2)), np.array([1.0, 1.0]), np.array([1.0, -2.0]), 0.0",
         "linear on the four points"),
    ],
    "mul_backward": [("def mul_backward(g, x, y):\n    return y, x", "forgot the chain rule (did not multiply by g)"),
                     ("def mul_backward(g, x, y):\n    return g * x, g * y", "gradients swapped")],
    "div_backward": [("def div_backward(g, x, y):\n    return g / y, g * x / y**2", "sign error"),
                     ("def div_backward(g, x, y):\n    return 1 / y, -x / y**2", "forgot the chain rule")],
    "pow_backward": [("def pow_backward(g, x, p):\n    return g * x ** (p - 1)", "factor p missing"),
                     ("def pow_backward(g, x, p):\n    return p * x ** (p - 1)", "forgot the chain rule")],
    "exp_backward": [("def exp_backward(g, x):\n    return np.exp(x)", "forgot the chain rule"),
                     ("def exp_backward(g, x):\n    return -g * np.exp(x)", "sign error")],
    "log_backward": [("def log_backward(g, x):\n    return 1 / x", "forgot the chain rule"),
                     ("def log_backward(g, x):\n    return -g / x", "sign error")],
    "sum_backward": [("def sum_backward(g, x, axis=None):\n    return np.broadcast_to(g, x.shape).copy()",
                      "summed axis not put back"),
                     ("def sum_backward(g, x, axis=None):\n    return np.ones_like(x)", "forgot the chain rule")],
    "max_backward": [
        ("def max_backward(g, x, axis=None):\n    a = tuple(range(x.ndim)) if axis is None else axis\n"
         "    return np.expand_dims(g, a) * (x == x.max(axis=axis, keepdims=True))", "tie not shared"),
        ("def max_backward(g, x, axis=None):\n    out = np.zeros(x.size)\n    out[np.argmax(x)] = g\n"
         "    return out.reshape(x.shape)", "tie not shared"),
    ],
    "matmul_backward": [("def matmul_backward(g, x, y):\n    return g @ y, x.T @ g", "missing transpose"),
                        ("def matmul_backward(g, x, y):\n    return g @ y.T, x @ g", "missing transpose"),
                        ("def matmul_backward(g, x, y):\n    one = np.ones_like(g)\n    return one @ y.T, x.T @ one",
                         "forgot the chain rule")],
    "unbroadcast": [("def unbroadcast(g, shape):\n    return g", "broadcasting not undone"),
                    ("def unbroadcast(g, shape):\n    return g.sum(axis=tuple(range(g.ndim - len(shape))))",
                     "broadcasting not undone")],
    "topological_order": [
        ("def topological_order(root):\n    order = []\n    def visit(n):\n        for p in n.parents:\n"
         "            visit(p)\n        order.append(n)\n    visit(root)\n    return order", "node listed twice"),
        ("def topological_order(root):\n    order, seen, stack = [], set(), [(root, False)]\n    while stack:\n"
         "        n, done = stack.pop()\n        if done:\n            order.append(n)\n"
         "        elif n not in seen:\n            seen.add(n)\n            stack.append((n, True))\n"
         "            stack.extend((p, False) for p in n.parents)\n    return order[::-1]", "order reversed"),
        ("def topological_order(root):\n    order, seen = [], set()\n    def visit(n):\n        if n in seen:\n"
         "            return\n        seen.add(n)\n        for p in n.parents:\n            visit(p)\n"
         "        order.append(n)\n    visit(root)\n    return order", "recursion too deep"),
    ],
    "backward": [
        ("def backward(root):\n    root.grad = 1.0\n    for n in reversed(topological_order(root)):\n"
         "        for p, d in zip(n.parents, n.local_grads):\n            p.grad = d * n.grad",
         "gradient overwritten instead of accumulated"),
        ("def backward(root):\n    root.grad = 1.0\n    for n in reversed(topological_order(root)):\n"
         "        for p, d in zip(n.parents, n.local_grads):\n            p.grad += d", "forgot the chain rule"),
        ("def backward(root):\n    root.grad = 1.0\n    for n in topological_order(root):\n"
         "        for p, d in zip(n.parents, n.local_grads):\n            p.grad += d * n.grad",
         "walked in the wrong order"),
    ],
    "relu": [("def relu(x):\n    return tg.maximum(x, 0.0)", "wrong slope at the kink"),
             ("def relu(x):\n    return tg.where(x >= 0, x, 0.0)", "wrong slope at the kink"),
             ("def relu(x):\n    return Tensor(np.maximum(x.data, 0.0))", "no graph")],
    "elu": [("def elu(x, alpha=1.0):\n    return tg.where(x > 0, x, alpha * (x.exp() - 1.0))", "unstable elu"),
            ("def elu(x, alpha=1.0):\n    neg = tg.where(x >= 0, 0.0, x)\n"
             "    return tg.where(x >= 0, x, alpha * (neg.exp() - 1.0))", "wrong slope at the kink"),
            ("def elu(x, alpha=1.0):\n    neg = tg.where(x > 0, 0.0, x).detach()\n"
             "    return tg.where(x > 0, x, alpha * (neg.exp() - 1.0))", "gradient wrong")],
    "softplus": [("def softplus(x):\n    return (1 + x.exp()).log()", "unstable softplus"),
                 ("def softplus(x):\n    return (1 + (-x).exp()).log()", "sign error")],
    "mse_loss": [("def mse_loss(pred, target):\n    return np.sum((pred - target) ** 2)", "sum instead of mean"),
                 ("def mse_loss(pred, target):\n    return np.mean(pred - target) ** 2", "squared the mean error")],
    "bce_with_logits": [
        ("def bce_with_logits(logits, target):\n    p = 1 / (1 + np.exp(-logits))\n"
         "    return -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))", "unstable bce_with_logits"),
        ("def bce_with_logits(logits, target):\n"
         "    return -np.mean(np.logaddexp(0, logits) - logits * target)", "sign error"),
    ],
    "cross_entropy": [
        ("def cross_entropy(logits, labels):\n    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
         "    return -np.mean(np.log(p[np.arange(len(labels)), labels]))", "unstable cross_entropy"),
        ("def cross_entropy(logits, labels):\n    m = logits.max(axis=1, keepdims=True)\n"
         "    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))\n"
         "    return np.sum(lse - logits[np.arange(len(labels)), labels])", "sum instead of mean"),
    ],
    "sgd_momentum_step": [
        ("def sgd_momentum_step(p, g, buf, lr, momentum):\n    buf = g if buf is None else momentum * buf + g\n"
         "    return p + lr * buf, buf", "sign error"),
        ("def sgd_momentum_step(p, g, buf, lr, momentum):\n"
         "    buf = g if buf is None else momentum * buf + (1 - momentum) * g\n    return p - lr * buf, buf",
         "buffer damped by (1 − momentum)"),
    ],
    "adam_step": [
        ("def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"
         "    m = betas[0] * m + (1 - betas[0]) * g\n    v = betas[1] * v + (1 - betas[1]) * g * g\n"
         "    return p - lr * m / (np.sqrt(v) + eps), m, v", "bias correction missing"),
        ("def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"
         "    m = betas[0] * m + (1 - betas[0]) * g\n    v = betas[1] * v + (1 - betas[1]) * g * g\n"
         "    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)\n"
         "    return p + lr * m_hat / (np.sqrt(v_hat) + eps), m, v", "sign error"),
    ],
}
CASES = [(name, src, mistake) for name, wrongs in WRONG.items() for src, mistake in wrongs]


def test_every_exercise_has_at_least_two_typical_wrong_solutions():
    assert {e.name for e in ex.EXERCISES} == set(WRONG)
    assert all(len(wrongs) >= 2 for wrongs in WRONG.values())


@pytest.mark.parametrize("name, source, mistake", CASES, ids=[f"{n}-{m}" for n, _, m in CASES])
def test_a_typical_wrong_solution_fails_and_its_mistake_is_named(tmp_path, name, source, mistake):
    result = _grade(tmp_path, name, source)
    assert result.status == "FAIL"
    assert mistake in result.explanation, result.explanation
    assert mistake in result.mistake  # the report's FAIL line names it too


def test_a_failure_shows_the_input_and_the_expected_and_received_numbers(tmp_path):
    result = _grade(tmp_path, "div_backward", "def div_backward(g, x, y):\n    return g / y, g * x / y**2")
    text = result.explanation
    assert "the gradient for y is wrong: sign error" in text
    assert "x = [ 1.5, -2. ,  0.5]" in text and "y = [-0.5,  3. ,  2. ]" in text
    assert "expected [-4.2     , -0.288889, -0.25    ]" in text  # −g·x/y²
    assert "received [4.2     , 0.288889, 0.25    ]" in text


def test_a_bug_only_random_cases_find_is_reported_on_the_shrunk_counterexample(tmp_path):
    source = ("def sum_backward(g, x, axis=None):\n    if x.ndim == 3:\n        return np.zeros_like(x)\n"
              "    a = tuple(range(x.ndim)) if axis is None else axis\n"
              "    return np.broadcast_to(np.expand_dims(g, a), x.shape).copy()")
    result = _grade(tmp_path, "sum_backward", source)
    assert result.status == "FAIL"
    assert "smallest failing case Hypothesis found" in result.explanation
    assert "x = [[[0.]]]" in result.explanation  # shrunk to the smallest 3-D array


def test_without_hypothesis_the_grader_still_checks_seeded_random_cases(monkeypatch):
    from tinygrad_edu.exercises import checks

    monkeypatch.setitem(sys.modules, "hypothesis", None)  # `import hypothesis` now fails
    seen = []

    def check(x):
        seen.append(x)
        if x.ndim == 3:
            raise checks.Failure("3-D arrays go wrong")

    with pytest.raises(checks.Failure, match="3-D arrays go wrong\n  \\(a random case \\(install hypothesis"):
        checks.for_all(lambda draw: draw.floats(checks.shape(draw), -1, 1), check)
    assert 1 <= len(seen) <= checks.EXAMPLES and seen[-1].ndim == 3


def test_an_untouched_workbook_is_not_done_everywhere(tmp_path, capsys):
    ex.write_workbook(tmp_path / "wb", verbose=False)
    assert ex.check_workbook(tmp_path / "wb") == 1
    out = capsys.readouterr().out
    assert out.count("NOT DONE") == len(ex.EXERCISES)
    assert out.count("not done yet") == len(ex.EXERCISES) + 1  # one per line, and the summary
    assert "Traceback" not in out
    assert f"0 of {len(ex.EXERCISES)} pass, 0 fail, {len(ex.EXERCISES)} not done yet." in out


def test_an_endless_loop_fails_only_its_own_exercise_within_the_time_limit(solved, capsys):
    ex.fill_in(solved, "mul_backward", "def mul_backward(g, x, y):\n    while True:\n        pass")
    try:
        start = time.perf_counter()
        results = ex.grade_workbook(solved, timeout=3)
        seconds = time.perf_counter() - start
    finally:
        ex.fill_in(solved, "mul_backward", solutions.source("mul_backward"))
    status = {r.exercise.name: r.status for r in results}
    assert status.pop("mul_backward") == "FAIL"
    assert set(status.values()) == {"PASS"}
    (looped,) = [r for r in results if r.exercise.name == "mul_backward"]
    assert "took longer than 3 s" in looped.explanation
    assert 3 <= looped.seconds < 6 and seconds < 3 + 20


def test_a_crash_and_a_syntax_error_fail_only_their_exercise(tmp_path):
    crash = _grade(tmp_path / "a", "exp_backward", "def exp_backward(g, x):\n    import os\n    os._exit(3)")
    assert crash.status == "FAIL" and "exit code 3" in crash.explanation
    broken = _grade(tmp_path / "b", "log_backward", "def log_backward(g, x):\n    return g / x)")
    assert broken.status == "FAIL" and "does not parse" in broken.explanation and "line" in broken.explanation


def test_an_error_in_student_code_names_its_line(tmp_path):
    result = _grade(tmp_path, "mul_backward", "def mul_backward(g, x, y):\n    return g * y, g * z")
    assert result.status == "FAIL"
    assert "NameError" in result.explanation and "of your file: return g * y, g * z" in result.explanation


def test_what_student_code_prints_is_shown_under_its_failure(tmp_path):
    result = _grade(tmp_path, "log_backward", "def log_backward(g, x):\n    print('debug', x.shape)\n    return g")
    assert result.status == "FAIL" and "debug (3,)" in result.printed
    assert "your code printed" in ex.grader.report_line(result)


def test_write_workbook_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "mine.py").write_text("my answers")
    with pytest.raises(ValueError, match=r"write_workbook: the directory .* is not empty .*'mine.py'"):
        ex.write_workbook(tmp_path, verbose=False)
    assert (tmp_path / "mine.py").read_text() == "my answers"


def test_the_workbook_has_one_file_per_exercise_with_task_math_hint_and_stub(tmp_path, capsys):
    written = ex.write_workbook(tmp_path / "wb")
    assert "python -m tinygrad_edu check" in capsys.readouterr().out
    assert [p.name for p in written] == ["README.md"] + [f"{i:02d}_{e.name}.py" for i, e in enumerate(ex.EXERCISES, 1)]
    readme = written[0].read_text()
    assert all(p.name in readme for p in written[1:])
    text = (tmp_path / "wb" / "12_backward.py").read_text()
    for part in ("Task", "The math", "Hint", "class Node", "def topological_order", "raise NotImplementedError"):
        assert part in text


def test_the_teachers_page_lists_every_exercise_in_order():
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "exercises.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| ") and "` |" in line]
    assert [row.split("`")[1] for row in rows] == [e.name for e in ex.EXERCISES]
    assert [int(row.split("|")[5]) for row in rows] == [e.minutes for e in ex.EXERCISES]


def test_check_names_an_unknown_exercise_and_a_missing_workbook(tmp_path, capsys):
    ex.write_workbook(tmp_path / "wb", verbose=False)
    assert ex.check_workbook(tmp_path / "wb", only="no_such") == 1
    assert "there is no exercise called 'no_such'" in capsys.readouterr().err
    assert ex.check_workbook(tmp_path / "nowhere") == 1
    assert "there is no workbook at" in capsys.readouterr().err
    assert ex.find("3") is ex.find("03_div_backward.py") is ex.find("div_backward")
