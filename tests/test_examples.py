"""The examples run in --quick mode, write the pictures they promise, and their numbers hold.

Each example runs once per test session (a module-scoped fixture); the tests then check
its returned numbers and, when matplotlib is installed, its PNG files.
"""
import importlib
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _import(name):
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def _run(name, out, *args):
    return _import(name).main(["--out", str(out), *args])


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """name -> (results, out folder) of the example's quick run, run on first use."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            cache[name] = (_run(name, out, "--quick"), out)
        return cache[name]

    return get


def _png_size(path):
    """(width, height) from a PNG's header, after checking it is a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


PICTURES = {
    "activations": ["activations.png"],
    "linear_regression": ["linear_regression.png"],
    "logistic_regression": ["logistic_regression.png"],
    "feature_extractor": ["feature_extractor.png"],
    "depth_and_width": ["depth_and_width.png"],
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_example_writes_its_pictures(name, ran):
    pytest.importorskip("matplotlib")
    _, out = ran(name)
    for picture in PICTURES[name]:
        path = out / picture
        assert path.exists(), f"{name} did not write {picture}"
        width, height = _png_size(path)
        assert 300 <= width <= 1600 and 200 <= height <= 1000, (width, height)
        assert 5_000 < path.stat().st_size < 300_000  # a real picture, and a small one


# ---------------------------------------------------------------------------------------
# The numbers each example claims.
# ---------------------------------------------------------------------------------------
def test_activations_numbers(ran):
    r, _ = ran("activations")
    assert r["forward_max_error_vs_lecture_numpy"] < 1e-12  # the lecture's numpy formulas
    assert r["derivative_max_error_vs_by_hand"] < 1e-12  # relu', elu', σ(1 − σ) written out
    assert r["max_abs_softplus_prime_minus_sigmoid"] < 1e-12  # softplus' = σ
    assert r["relu_prime_at_0"] == 0.0
    assert r["elu_prime_at_0"] == 2.0  # = α
    assert r["softplus_prime_at_0"] == 0.5
    assert r["sigmoid_prime_at_0"] == 0.25


def _check_nll_is_scaled_mse(r):
    assert r["nll_minus_scaled_mse"] == pytest.approx(r["nll_constant_expected"], rel=1e-10)
    assert r["nll_minus_scaled_mse_spread"] < 1e-8  # one constant, whatever w is
    assert r["grad_ratio_min"] == pytest.approx(r["grad_ratio_expected"], rel=1e-10)
    assert r["grad_ratio_max"] == pytest.approx(r["grad_ratio_expected"], rel=1e-10)


def test_linear_regression_quick(ran):
    r, _ = ran("linear_regression")
    _check_nll_is_scaled_mse(r)
    assert r["max_abs_diff_to_least_squares"] < 1e-3  # 40 steps: close already
    assert r["final_mse"] == pytest.approx(r["least_squares_mse"], rel=1e-5)


def test_linear_regression_full_matches_least_squares(tmp_path, monkeypatch):
    """The full run (still under a second) recovers numpy's lstsq solution to 1e-6."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # numbers only: skip the plot
    r = _run("linear_regression", tmp_path)
    _check_nll_is_scaled_mse(r)
    assert r["max_abs_diff_to_least_squares"] < 1e-6
    np.testing.assert_allclose(r["w_gradient_descent"], r["w_least_squares"], atol=1e-6)


def test_logistic_regression_numbers(ran):
    r, _ = ran("logistic_regression")
    assert r["bce_minus_bernoulli_nll"] < 1e-12  # BCE with logits is the Bernoulli NLL
    assert r["blobs_accuracy"] == 1.0  # separable: a line gets every point
    assert r["xor_accuracy"] <= 0.75  # no line gets all four XOR points
    assert r["xor_max_abs_p_minus_half"] < 0.01  # the best it can do: p = ½ everywhere


def test_feature_extractor_numbers(ran):
    r, _ = ran("feature_extractor")
    assert r["raw_linear_probe_accuracy"] <= 0.7  # a plane cannot cut a ball from its shell
    assert r["feature_linear_probe_accuracy"] >= 0.97  # a line can, in the learned φ-space
    assert r["network_accuracy"] >= 0.97
    assert r["feature_linear_probe_accuracy"] > r["raw_linear_probe_accuracy"] + 0.25


def test_depth_and_width_numbers(ran):
    r, _ = ran("depth_and_width")
    table = {(row["depth"], row["width"]): row for row in r["table"]}
    assert set(table) == {(0, 0), (1, 2), (1, 16), (2, 2), (2, 16)}
    # parameters of MLP([2] + [w]*d + [3]): (2+1)w + (d−1)(w+1)w + (w+1)3
    assert table[(1, 16)]["parameters"] == 3 * 16 + 17 * 3
    assert table[(2, 16)]["parameters"] == 3 * 16 + 17 * 16 + 17 * 3
    assert r["linear_test_accuracy"] <= 0.6  # a linear model cannot follow spirals
    assert r["best_test_accuracy"] >= 0.9
    assert table[(2, 16)]["train_accuracy"] >= 0.95


def test_backprop_by_hand(ran):
    r, out = ran("backprop_by_hand")
    assert r["max_abs_difference"] < 1e-12  # backward() = the derivation on paper
    assert set(r["by_hand"]) == {"L", "dL/dy", "dL/dz", "dL/dw", "dL/db"}
    assert r["by_hand"]["dL/dw"] == pytest.approx(2.0 * r["by_hand"]["dL/db"])  # ∂z/∂w = x = 2
    assert r["gradcheck"] is True
    assert r["backward_steps"] >= 5  # L, y − t, y, z, w·x, w, b at least
    names = sorted(Path(f).name for f in r["files"])
    assert names in (["backprop_graph.svg", "backprop_graph_expanded.svg"],
                     ["backprop_graph.dot", "backprop_graph_expanded.dot"])
    for f in r["files"]:
        text = Path(f).read_text()
        assert ("<svg" in text) if f.endswith(".svg") else text.startswith("digraph")
    # Expanded, the picture shows softplus' primitives: more nodes than collapsed.
    collapsed, expanded = (Path(f).read_text() for f in sorted(r["files"]))
    assert "exp" in expanded and "log" in expanded and len(expanded) > len(collapsed)


def test_examples_print_what_they_return(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = _run("backprop_by_hand", tmp_path)
    printed = capsys.readouterr().out
    for key in r:
        assert key in printed
    assert "dL/dz = dL/dy * dy/dz" in printed  # the chain rule, written out


def test_without_matplotlib_examples_still_print_values(tmp_path, capsys, monkeypatch):
    common = _import("_common")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.setattr(common, "_warned", False)
    r = _run("activations", tmp_path, "--quick")
    printed = capsys.readouterr().out
    assert 'pip install "tinygrad_edu[plot]"' in printed
    assert "softplus'(0) = 0.5" in printed
    assert r["elu_prime_at_0"] == 2.0
    assert not list(tmp_path.glob("*.png"))


def test_example_runs_as_a_script(tmp_path):
    """`python examples/<name>.py` works from a checkout, even with the package not installed."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / "backprop_by_hand.py"), "--out", str(tmp_path / "pics")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "gradcheck" in proc.stdout
    assert len(list((tmp_path / "pics").iterdir())) == 2


def test_every_example_has_cells_quick_mode_and_main():
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.name.startswith("_") or path.name == "xor.py":  # xor.py belongs to the XOR demo
            continue
        text = path.read_text()
        assert text.count("# %%") >= 3, f"{path.name}: notebook cells"
        assert "def main(argv=None)" in text and 'if __name__ == "__main__":' in text, path.name
        assert "_common.parse_args" in text, f"{path.name}: --out/--quick through _common"
