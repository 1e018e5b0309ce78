"""The benchmark suite still runs (tiny sizes, few samples). No timing is asserted here:
the numbers of a tiny run mean nothing, and the benchmark itself is the judge of speed."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import run as bench  # noqa: E402


def test_tiny_suite_runs_and_every_implementation_agrees_with_the_floor(tmp_path):
    cfg = bench.Config(quick=True, tiny=True)
    res = bench.run_suite(cfg, log=lambda msg: None)
    assert {"T1", "T2", "T3", "T4", "T5", "T6a", "T6b", "T7", "T8"} <= set(res["tasks"])
    for name, task in res["tasks"].items():
        for impl, r in task["impls"].items():
            assert r["error"] is None, (name, impl, r["error"])
            if task["kind"] == "memory":
                assert r["peak_bytes"] > 0, (name, impl)
            else:
                assert r["check"] == "ok", (name, impl, r["check"])
                assert r["median_s"] > 0 and r["n"] >= 1
    assert "engine" in res["tasks"]["T1"]["impls"]  # the engine is never skipped
    table = bench.format_table(res)
    assert "engine/floor" in table and "T6b" in table
    assert len(bench.evaluate_targets(res)) == len(bench.TARGETS)
    json.dumps(res)  # the results are JSON-able
    if _has("matplotlib"):
        assert bench.plot({"inproc": res}, tmp_path / "plot.png").exists()


def test_command_line_quick_run_writes_json(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--tiny", "--tasks", "T1,T5,T6", "--impls", "floor,engine",
         "--no-memory", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| T1" in proc.stdout and "engine/floor" in proc.stdout
    report = json.loads(out.read_text())
    run = report["runs"]["env"]
    assert set(run["tasks"]) == {"T1", "T5", "T6a", "T6b"}
    assert run["machine"]["env"]["MALLOC_TRIM_THRESHOLD_"] == bench.MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]


@pytest.mark.parametrize("shape", [(1, 4, 4, 1), (2, 3, 5, 2), (3, 8, 8, 4)])
def test_floor_col2im_is_the_adjoint_of_im2col(shape):
    """The floor's hand-derived CNN backward sends the gradient of the im2col matrix back to
    the pixels with _col2im; that is right only if <im2col(a), g> = <a, col2im(g)> for all a, g."""
    from benchmarks import impl_floor

    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    cols = impl_floor._im2col(a)
    n, h, w, c = shape
    assert cols.shape == (n * h * w, 9 * c)
    g = rng.standard_normal(cols.shape)
    assert np.vdot(cols, g) == pytest.approx(np.vdot(a, impl_floor._col2im(g, shape)), rel=1e-12)


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True
