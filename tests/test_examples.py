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
    # No line gets all four XOR points; which side of ½ each p falls on is decided by where
    # the short (--quick) descent stopped: here (0,0), (0,1), (1,0) above ½, (1,1) below.
    p = np.asarray(r["xor_probabilities"])
    assert r["xor_accuracy"] == np.mean((p > 0.5) == [0, 1, 1, 0]) == 0.75
    assert r["xor_max_abs_p_minus_half"] < 0.01  # the best it can do: p = ½ everywhere


def test_feature_extractor_numbers(ran):
    r, _ = ran("feature_extractor")
    assert r["raw_linear_probe_accuracy"] <= 0.7  # a plane cannot cut a ball from its shell
    assert 0.6 <= r["best_axis_plane_accuracy"] <= 0.75  # the best plane x_i = c cuts a cap off the shell
    assert r["feature_linear_probe_accuracy"] >= 0.97  # a line can, in the learned φ-space
    assert r["network_accuracy"] >= 0.97
    assert r["feature_linear_probe_accuracy"] > r["raw_linear_probe_accuracy"] + 0.25


def test_feature_extractor_full_run_numbers(tmp_path, monkeypatch):
    """The full run's numbers, which the tutorial quotes: the best plane 64.5%, logistic
    regression at chance (52.7%), the learned features separable (100%)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # numbers only: skip the plot
    r = _run("feature_extractor", tmp_path)
    assert r["n"] == 600
    assert r["best_axis_plane_accuracy"] == pytest.approx(0.645)
    assert r["best_axis_plane"].startswith("x1 > ")
    assert r["raw_linear_probe_accuracy"] == pytest.approx(0.527, abs=0.001)
    assert r["untrained_feature_linear_probe_accuracy"] == pytest.approx(0.908, abs=0.001)
    assert r["feature_linear_probe_accuracy"] == 1.0 and r["network_accuracy"] == 1.0


def test_best_axis_plane_finds_the_best_cut():
    fe = _import("feature_extractor")
    # 1-D-separable along x2 only: points with x2 > 0.5 are class 1
    X = np.array([[0.0, 0.0], [5.0, 0.2], [1.0, 0.9], [-3.0, 0.7]])
    acc, axis, cut, side = fe.best_axis_plane(X, np.array([0.0, 0.0, 1.0, 1.0]))
    assert (acc, axis, side) == (1.0, 1, 1) and 0.2 < cut < 0.7
    # on the ball and shell: no cut at any data value on any axis, on either side, does better
    X, y = fe.ball_and_shell(200)
    acc, axis, cut, side = fe.best_axis_plane(X, y)
    brute = max(max(np.mean((X[:, i] > c) == y), np.mean((X[:, i] <= c) == y))
                for i in range(3) for c in X[:, i])
    assert acc == pytest.approx(brute)
    assert np.mean(np.where(X[:, axis] > cut, side, 1 - side) == y) == pytest.approx(acc)


def test_depth_and_width_numbers(ran):
    r, _ = ran("depth_and_width")
    table = {(row["depth"], row["width"]): row for row in r["table"]}
    # the lecture's depth: the number of layers in the chain; depth 1 is the linear model
    assert set(table) == {(1, None), (2, 2), (2, 16), (3, 2), (3, 16)}
    assert all(row["hidden_layers"] == row["depth"] - 1 for row in r["table"])
    # parameters of MLP([2] + [w]*(D−1) + [3]): (2+1)w + (D−2)(w+1)w + (w+1)3
    assert table[(1, None)]["parameters"] == 3 * 3
    assert table[(2, 16)]["parameters"] == 3 * 16 + 17 * 3
    assert table[(3, 16)]["parameters"] == 3 * 16 + 17 * 16 + 17 * 3
    assert r["linear_test_accuracy"] <= 0.6  # a linear model cannot follow spirals
    assert r["best_test_accuracy"] >= 0.9
    assert table[(3, 16)]["train_accuracy"] >= 0.95


def test_depth_and_width_builds_the_depth_it_names():
    dw = _import("depth_and_width")
    for depth, width in [(1, None), (2, 4), (4, 16)]:
        model = dw.make_model(depth, width)
        assert dw.depth_of(model) == depth
        hidden = [layer.out_features for layer in model.layers if hasattr(layer, "out_features")][:-1]
        assert hidden == [width] * (depth - 1)


def test_backprop_by_hand(ran):
    r, out = ran("backprop_by_hand")
    assert r["max_abs_difference"] < 1e-12  # backward() = the derivation on paper
    assert set(r["by_hand"]) == {"L", "dL/dy", "dL/dz", "dL/dw", "dL/db"}
    assert r["by_hand"]["dL/dw"] == pytest.approx(2.0 * r["by_hand"]["dL/db"])  # ∂z/∂w = x = 2
    assert r["gradcheck"] is True
    # L, y − t, y, the four values inside softplus (log(eᶻ' + 1), eᶻ' + 1, eᶻ' and z' = z
    # selected where z ≤ 40), z, w·x, w, b: one step per value that needs a gradient
    assert r["backward_steps"] == 11
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


def test_projector_pictures_are_larger_and_sharper(tmp_path):
    """--projector: the same picture at 150 dpi with 14-pt text, for a lecture hall."""
    pytest.importorskip("matplotlib")
    from PIL import Image

    sizes = {}
    for flag in ([], ["--projector"]):
        out = tmp_path / ("big" if flag else "small")
        subprocess.run([sys.executable, str(EXAMPLES / "activations.py"), "--quick", "--out", str(out), *flag],
                       check=True, capture_output=True, timeout=120)
        sizes[bool(flag)] = Image.open(out / "activations.png").size
    assert sizes[True][0] == pytest.approx(sizes[False][0] * 150 / 80, rel=0.02)


def test_out_pointing_at_a_file_is_a_one_line_error(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    run = subprocess.run([sys.executable, str(EXAMPLES / "activations.py"), "--quick", "--out", str(target)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "is a file" in run.stderr and "Traceback" not in run.stderr
