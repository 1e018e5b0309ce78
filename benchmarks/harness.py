"""Measuring: per-step timing, peak memory of a step, and the facts of the machine."""
from __future__ import annotations

import contextlib
import gc
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------
# Time.
# ---------------------------------------------------------------------------------------
def _timed_steps(step, n, out):
    """Run ``step`` n times, appending the wall time of each call (seconds) to ``out``.

    Whatever the step returns is dropped inside the timed region, so freeing the step's
    graph is part of its cost, as it is in a training loop.
    """
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        step()
        out.append(clock() - t0)


def measure(steps, *, budget_s, min_samples, max_samples, rounds, warmup_s, min_warmup):
    """Seconds per step of each ``steps[name]``, interleaved so drift hits all alike.

    Each step function is first warmed up (at least ``min_warmup`` calls, and for about
    ``warmup_s``), which also estimates its cost; that sets how many samples fit in
    ``budget_s`` (clamped to [min_samples, max_samples]). The samples are then taken in
    ``rounds`` rounds, every implementation taking its turn in each round (in a rotating
    order), so a noisy moment on the machine spreads over all of them.
    """
    clock = time.perf_counter
    counts = {}
    for name, step in steps.items():
        t0, k = clock(), 0
        while k < min_warmup or (clock() - t0 < warmup_s and k < 10_000):
            step()
            k += 1
        est = (clock() - t0) / k
        counts[name] = max(min_samples, min(max_samples, int(budget_s / max(est, 1e-9))))
    samples = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            gc.collect()  # start each block from the same place; not timed
            _timed_steps(steps[name], math.ceil(counts[name] / rounds), samples[name])
    return {name: summarize(s) for name, s in samples.items()}


def summarize(samples):
    q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return {
        "median_s": statistics.median(samples),
        "p25_s": q[0],
        "p75_s": q[2],
        "min_s": min(samples),
        "n": len(samples),
    }


# ---------------------------------------------------------------------------------------
# Memory.
# ---------------------------------------------------------------------------------------
def peak_tracemalloc(step):
    """Peak bytes held during one step by what the training loop allocated itself.

    That is gradients, activations and temporaries, including what the previous step left
    alive into this one (its gradients, until zero_grad drops them), but not the parameters
    or the input data. numpy reports its array buffers to tracemalloc, so this sees every
    array (and every Python object). A traced step runs first, so that what it leaves
    behind is counted while it stays alive in the measured step.
    """
    step()
    tracemalloc.start()
    try:
        step()
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak


@contextlib.contextmanager
def quiet_fds():
    """Silence what C++ libraries print straight to fds 1 and 2 (torch.profiler does)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


# ---------------------------------------------------------------------------------------
# Comparing first steps: a fast wrong answer must not win.
# ---------------------------------------------------------------------------------------
def max_rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def compare(got, want, dtype):
    """'ok' or a short description of the worst mismatch between two lists of arrays."""
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-8
    errs = [max_rel_err(g, w) for g, w in zip(got, want)]
    if len(got) != len(want):
        return f"MISMATCH: {len(got)} results, expected {len(want)}"
    worst = max(errs, default=0.0)
    return "ok" if worst <= tol else f"MISMATCH: max relative error {worst:.2e} > {tol:g}"


# ---------------------------------------------------------------------------------------
# The machine.
# ---------------------------------------------------------------------------------------
ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """What threadpoolctl sees (BLAS and OpenMP libraries loaded now), or why not."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"note": "threadpoolctl not installed (pip install threadpoolctl)"}]
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    return [{k: d.get(k) for k in keep if d.get(k) is not None} for d in threadpoolctl.threadpool_info()]


def git_commit(where=ROOT):
    """The last commit of the engine's checkout, and whether tinygrad_edu/ differs from it."""
    try:
        out = subprocess.run(["git", "-C", str(where), "log", "-1", "--format=%h %cs %s"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--", "tinygrad_edu"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    if commit and dirty.stdout.strip():
        commit += " (+ uncommitted changes in tinygrad_edu/)"
    return commit or None


def machine_info(torch_threads=None):
    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None,
        "torch_threads": torch_threads,
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
        "engine_commit": git_commit(),
    }
    if "tinygrad_edu" in sys.modules:
        engine_dir = Path(sys.modules["tinygrad_edu"].__file__).resolve().parent
        info["engine_path"] = str(engine_dir)
        if engine_dir.parent != ROOT:  # --engine-path: a copy, e.g. `git archive <commit> tinygrad_edu`
            label = engine_dir.parent / "ENGINE_COMMIT"  # a note left beside such a copy, if any
            info["engine_commit"] = (git_commit(engine_dir)
                                     or (label.read_text().strip() if label.exists() else "(outside this repository)"))
    if "torch" in sys.modules:
        info["torch"] = sys.modules["torch"].__version__
    try:
        import resource

        info["load_avg"] = os.getloadavg()
        info["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except (ImportError, OSError):
        pass
    return info
