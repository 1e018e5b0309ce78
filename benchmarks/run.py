"""Run the benchmark suite: this engine against the numpy floor and PyTorch eager.

    python -m benchmarks.run            # full suite, OPENBLAS_CORETYPE as set and unset (~3 min)
    python -m benchmarks.run --quick    # a fast smoke run (one setting, few samples)

Each task is timed as seconds per step (median of many steps after warm-up), all the
implementations of a task in one process, interleaved, so their ratios compare. Every
setting (OPENBLAS_CORETYPE as the environment has it / unset) runs in a fresh child
process whose environment carries the same malloc and thread settings for everybody.
Writes a table to stdout, benchmarks/results.json, and benchmarks/results.png.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

from benchmarks import harness, tasks as tasks_mod  # noqa: E402

HERE = Path(__file__).resolve().parent
IMPLS = ("floor", "engine", "engine-compiled", "torch")

# glibc malloc: with its default (dynamic) thresholds, a process that frees ~1 MiB arrays
# every step hands the memory back to the kernel and faults it in again on the next step.
# Fixed thresholds keep such blocks on the heap. Applied to every implementation alike
# (they share the child process), and recorded in results.json.
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),  # glibc's maximum on 64-bit
    "MALLOC_TRIM_THRESHOLD_": str(1024 * 1024 * 1024),
}
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# (task, metric, limit): the targets of issue 6, as ratios of medians of one run.
TARGETS = [
    ("T1", "engine/torch", 0.8), ("T1", "engine/floor", 3.0),
    ("T2", "engine/torch", 0.8), ("T2", "engine/floor", 3.0),
    ("T3", "engine/floor", 1.5), ("T3", "engine/torch", 1.0),
    ("T4", "engine/floor", 1.1), ("T4", "engine/torch", 1.0),
    ("T5", "engine/floor", 2.5),
    ("T6", "linearity", 1.3), ("T6b", "engine/torch", 1.0),
    ("T7", "engine/floor", 3.0),
    # issue 10, tg.compile: ratios of medians, and the first (tracing) step in eager steps
    ("T1", "engine-compiled/floor", 2.0), ("T1", "engine-compiled/torch", 0.4),
    ("T2", "engine-compiled/floor", 1.6), ("T3", "engine-compiled/floor", 1.2),
    ("T4", "engine-compiled/floor", 1.05), ("T5", "engine-compiled/floor", 1.5),
    ("T7", "engine-compiled/floor", 1.5),
    ("T1", "trace/engine", 20.0), ("T2", "trace/engine", 20.0), ("T3", "trace/engine", 20.0),
    ("T4", "trace/engine", 20.0),
]


@dataclass
class Config:
    quick: bool = False
    tiny: bool = False  # shrink every size (smoke test)
    only: list = field(default_factory=list)  # task names to run; empty = all
    impls: list = field(default_factory=lambda: list(IMPLS))
    threads: int = 0  # 0 = os.cpu_count()
    memory: bool = True  # T7
    gc_freeze: bool = True  # gc.freeze() after the imports (see run_suite)

    def budget(self):
        """(seconds of samples per implementation per task, min samples, rounds, warm-up s)."""
        if self.tiny:
            return 0.005, 2, 1, 0.0
        if self.quick:
            return 0.15, 3, 2, 0.05
        return 1.5, 5, 5, 0.3


# ---------------------------------------------------------------------------------------
# One setting, in this process.
# ---------------------------------------------------------------------------------------
def load_impls(names, log):
    mods, skipped = {}, {}
    for name in names:
        try:
            mod = importlib.import_module(f"benchmarks.impl_{name.replace('-', '_')}")
            why = mod.available()
        except ImportError as e:
            why = f"not importable: {e}"
        if why:
            skipped[name] = why
            log(f"  {name}: skipped ({why})")
        else:
            mods[name] = mod
    return mods, skipped


def set_threads(n, mods):
    """The same thread count for numpy's BLAS and for torch (intra-op)."""
    limiter = None
    try:
        import threadpoolctl

        limiter = threadpoolctl.threadpool_limits(n)  # numpy's BLAS (and torch's OpenMP)
    except ImportError:
        pass  # the parent also sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS in the child env
    torch_threads = None
    if "torch" in mods:
        import torch

        torch.set_num_threads(n)
        torch_threads = torch.get_num_threads()
    return limiter, torch_threads


def run_suite(cfg: Config, log=print):
    """Run every task with every implementation; returns a JSON-able dict."""
    t_start = time.perf_counter()
    threads = cfg.threads or os.cpu_count() or 1
    mods, skipped = load_impls(cfg.impls, log)
    _limiter, torch_threads = set_threads(threads, mods)
    out = {"tasks": {}, "skipped": skipped, "threads": threads}
    if cfg.gc_freeze:
        # Importing torch leaves ~150k objects for the cyclic garbage collector to walk on
        # every full collection. A user of this engine has no torch in their process, so
        # the objects that exist now (torch's, numpy's, the engine's modules) are moved out
        # of the collector's sight: each implementation pays only for the objects it makes.
        gc.collect()
        gc.freeze()
    out["gc"] = {"frozen_objects": gc.get_freeze_count(), "thresholds": gc.get_threshold()}
    try:
        suite = [t for t in tasks_mod.make_tasks(cfg.tiny) if not cfg.only or t.name in cfg.only
                 or t.name.rstrip("ab") in cfg.only]
        for task in suite:
            out["tasks"][task.name] = _run_task(task, cfg, mods, log)
        if cfg.memory and (not cfg.only or "T7" in cfg.only or "T4" in cfg.only):
            out["tasks"]["T7"] = _memory_task(cfg, mods, log)
    finally:
        if cfg.gc_freeze:
            gc.unfreeze()  # leave the process as it was (the smoke test runs inside pytest)
    out["machine"] = harness.machine_info(torch_threads)
    out["elapsed_s"] = time.perf_counter() - t_start
    return out


def _run_task(task, cfg, mods, log):
    """Check every implementation's first step against the floor's, then time them all."""
    budget_s, min_samples, rounds, warmup_s = cfg.budget()
    log(f"  {task.name}: {task.title}")
    objs, checks, errors, reference, first = {}, {}, {}, None, {}
    for name, mod in mods.items():
        try:
            obj, result, first[name] = _build_and_first_step(task, mod)
        except Exception as e:  # an implementation that cannot run a task is reported, not fatal
            errors[name] = f"{type(e).__name__}: {e}"
            log(f"    {name}: ERROR {errors[name]}")
            continue
        if reference is None:
            reference = result  # the first implementation (the floor) is the reference
        checks[name] = harness.compare(result, reference, getattr(task, "dtype", "float64"))
        if checks[name] != "ok":
            log(f"    {name}: {checks[name]}")
        objs[name] = obj
    if cfg.gc_freeze:  # what the first steps imported or cached (torch.optim does) joins the frozen
        gc.collect()
        gc.freeze()
    long_task = task.kind == "chain" and task.length >= 50_000
    timings = harness.measure(
        {name: obj.step for name, obj in objs.items()},
        budget_s=budget_s,
        min_samples=min_samples,
        max_samples=5_000,
        rounds=min(rounds, 1 if cfg.quick else 5) if long_task else rounds,
        warmup_s=warmup_s,
        min_warmup=1 if long_task else 2 if cfg.tiny else 3,
    ) if objs else {}
    impl_results = {}
    for name in mods:
        r = {"check": checks.get(name), "error": errors.get(name), "first_step_s": first.get(name)}
        r.update(timings.get(name, {}))
        impl_results[name] = r
    res = {"title": task.title, "kind": task.kind, "impls": impl_results}
    if task.kind == "chain":
        res["length"] = task.length
    log("    " + "  ".join(f"{n} {_fmt_s(r.get('median_s'))}" for n, r in impl_results.items()))
    return res


def _build_and_first_step(task, mod):
    """Build ``mod``'s implementation of ``task`` and run one step: (object, results to check,
    seconds the first step took; for engine-compiled that step traces and compiles)."""
    clock = time.perf_counter
    if task.kind == "mlp":
        X, y = tasks_mod.mlp_data(task)
        obj = mod.MLP(task, X, y, tasks_mod.mlp_weights(task))
        t0 = clock()
        loss = obj.step()
        return obj, [loss, *obj.params()], clock() - t0
    if task.kind == "cnn":
        X, y = tasks_mod.cnn_data(task)
        obj = mod.CNN(task, X, y, tasks_mod.cnn_weights(task))
        t0 = clock()
        loss = obj.step()
        return obj, [loss, *obj.params()], clock() - t0
    if task.kind == "act":
        x, g = tasks_mod.act_data(task)
        obj = mod.Act(task, x, g)
    else:
        obj = mod.Chain(task)
    t0 = clock()
    result = list(obj.step())
    return obj, result, clock() - t0


def _memory_task(cfg, mods, log):
    """T7: peak memory of one T4 training step, above what was allocated before the step."""
    task = next(t for t in tasks_mod.make_tasks(cfg.tiny) if t.name == "T4")
    log(f"  T7: peak memory of a step of T4 ({task.title})")
    X, y = tasks_mod.mlp_data(task)
    res = {}
    for name, mod in mods.items():
        r = {"method": mod.memory_method, "error": None}
        try:
            obj = mod.MLP(task, X, y, tasks_mod.mlp_weights(task))
            if mod.memory_method == "tracemalloc":
                r["peak_bytes"] = harness.peak_tracemalloc(obj.step)
            else:
                obj.step()
                with harness.quiet_fds():
                    r["peak_bytes"] = mod.peak_memory(obj.step)
        except Exception as e:
            r["error"] = f"{type(e).__name__}: {e}"
        res[name] = r
    log("    " + "  ".join(f"{n} {_fmt_bytes(r.get('peak_bytes'))}" for n, r in res.items()))
    return {"title": f"peak memory of a T4 step ({task.title})", "kind": "memory", "impls": res}


# ---------------------------------------------------------------------------------------
# Ratios, targets, the table.
# ---------------------------------------------------------------------------------------
def _value(task_res, impl):
    r = (task_res or {}).get("impls", {}).get(impl) or {}
    return r.get("peak_bytes") if task_res and task_res.get("kind") == "memory" else r.get("median_s")


def ratio(run, task, num, den):
    t = run["tasks"].get(task)
    a, b = _value(t, num), _value(t, den)
    return a / b if a and b else None


def linearity(run, impl="engine"):
    """Per-link cost of the long chain over the short one's (1.0 = perfectly linear)."""
    a, b = run["tasks"].get("T6a"), run["tasks"].get("T6b")
    ta, tb = _value(a, impl), _value(b, impl)
    if not (ta and tb):
        return None
    return (tb / b["length"]) / (ta / a["length"])


def first_step_ratio(run, task, impl="engine-compiled", per="engine"):
    """The first step of ``impl`` (tracing, for engine-compiled) in steady steps of ``per``."""
    t = run["tasks"].get(task)
    first = (((t or {}).get("impls") or {}).get(impl) or {}).get("first_step_s")
    steady = _value(t, per)
    return first / steady if first and steady else None


def evaluate_targets(run):
    rows = []
    for task, metric, limit in TARGETS:
        if metric == "linearity":
            value = linearity(run)
        elif metric == "trace/engine":
            value = first_step_ratio(run, task)
        else:
            num, den = metric.split("/")
            value = ratio(run, task, num, den)
        status = "n/a" if value is None else ("PASS" if value <= limit else "FAIL")
        rows.append({"task": task, "metric": metric, "limit": limit, "value": value, "status": status})
    return rows


def _fmt_s(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_bytes(b):
    return "-" if b is None else f"{b / 2**20:.2f} MiB"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def format_table(run, label=""):
    """A Markdown table of one setting: medians, ratios, and the targets met or missed."""
    targets = evaluate_targets(run)
    by_task = {}
    for t in targets:
        key = "T6b" if t["task"] == "T6" else t["task"]
        by_task.setdefault(key, []).append(t)
    lines = []
    if label:
        lines.append(f"**{label}**\n")
    lines.append("| task | floor (numpy) | engine | engine-compiled | torch | engine/floor | engine/torch "
                 "| compiled/floor | compiled/torch | targets |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, t in run["tasks"].items():
        fmt = _fmt_bytes if t.get("kind") == "memory" else _fmt_s
        cells = []
        for impl in IMPLS:
            r = t["impls"].get(impl)
            if r is None:
                cells.append("skipped")
            elif r.get("error"):
                cells.append("error")
            else:
                cell = fmt(_value(t, impl))
                if r.get("check") not in (None, "ok"):
                    cell += " (WRONG)"
                cells.append(cell)
        tg = "; ".join(f"{x['metric']} {_fmt_ratio(x['value'])} ≤ {x['limit']:g} {x['status']}"
                       for x in by_task.get(name, []))
        lines.append(f"| {name} {t['title']} | {' | '.join(cells)} | "
                     f"{_fmt_ratio(ratio(run, name, 'engine', 'floor'))} | "
                     f"{_fmt_ratio(ratio(run, name, 'engine', 'torch'))} | "
                     f"{_fmt_ratio(ratio(run, name, 'engine-compiled', 'floor'))} | "
                     f"{_fmt_ratio(ratio(run, name, 'engine-compiled', 'torch'))} | {tg} |")
    n_pass = sum(t["status"] == "PASS" for t in targets)
    lines.append(f"\ntargets met: {n_pass}/{len(targets)}")
    return "\n".join(lines)


def format_machine(run):
    m = run["machine"]
    blas = "; ".join(
        f"{b.get('internal_api', b.get('note'))} {b.get('version') or ''} "
        f"{b.get('architecture') or ''} ({b.get('num_threads', '?')} threads)".replace("  ", " ")
        for b in m["blas"])
    env = m["env"]
    return (f"{m['cpu']}, {m['logical_cpus']} logical CPUs; Python {m['python']}, numpy {m['numpy']}, "
            f"torch {m['torch'] or 'absent'} ({m['torch_threads']} threads); BLAS: {blas}; "
            f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE')} OPENBLAS_L2_SIZE={env.get('OPENBLAS_L2_SIZE')}; "
            f"MALLOC_MMAP_THRESHOLD_={env.get('MALLOC_MMAP_THRESHOLD_')} "
            f"MALLOC_TRIM_THRESHOLD_={env.get('MALLOC_TRIM_THRESHOLD_')}; engine at {m['engine_commit']}")


def plot(runs, path):
    """Seconds per step of each implementation, one panel per setting. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    fig, axes = plt.subplots(1, len(runs), figsize=(6.5 * len(runs), 4.2), squeeze=False)
    for ax, (setting, run) in zip(axes[0], runs.items()):
        names = [n for n, t in run["tasks"].items() if t.get("kind") != "memory"]
        width = 0.8 / len(IMPLS)
        for i, impl in enumerate(IMPLS):
            vals = [_value(run["tasks"][n], impl) or 0 for n in names]
            ax.bar([k + (i - (len(IMPLS) - 1) / 2) * width for k in range(len(names))], vals, width, label=impl)
        for k, n in enumerate(names):  # engine/floor above the engine's bar
            r, top = ratio(run, n, "engine", "floor"), _value(run["tasks"][n], "engine")
            if r and top:
                ax.annotate(f"{r:.1f}x", (k, top), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(names)), names)
        ax.set_yscale("log")
        ax.set_ylabel("seconds per step (median); engine/floor on top")
        ax.set_title(f"OPENBLAS_CORETYPE {setting_label(setting)}", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"tinygrad_edu benchmarks — {next(iter(runs.values()))['machine']['cpu']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def setting_label(setting):
    return {"env": "as set", "unset": "unset (with OPENBLAS_L2_SIZE)", "inproc": "as set (in-process)"}.get(setting, setting)


# ---------------------------------------------------------------------------------------
# The command.
# ---------------------------------------------------------------------------------------
def child_env(setting, threads, malloc, engine_path=None):
    env = dict(os.environ)
    paths = [engine_path, str(harness.ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if malloc:
        env.update(MALLOC_ENV)
    if setting == "unset":
        for var in BLAS_VARS:
            env.pop(var, None)
    return env


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="few samples, one OPENBLAS setting: a smoke run")
    p.add_argument("--tiny", action="store_true", help="shrink every size (for tests; numbers mean nothing)")
    p.add_argument("--blas", choices=("both", "env", "unset"), default=None,
                   help="OPENBLAS_CORETYPE as set (env), unset, or both (default: both; env with --quick)")
    p.add_argument("--tasks", default="", help="comma-separated subset, e.g. T1,T2,T6 (default: all)")
    p.add_argument("--impls", default=",".join(IMPLS), help="comma-separated subset of floor,engine,engine-compiled,torch")
    p.add_argument("--threads", type=int, default=0, help="threads for numpy's BLAS and torch (default: all CPUs)")
    p.add_argument("--malloc", choices=("tuned", "default"), default="tuned",
                   help="tuned: fixed glibc malloc thresholds in the child (default); default: glibc's own")
    p.add_argument("--no-memory", action="store_true", help="skip T7")
    p.add_argument("--no-gc-freeze", action="store_true",
                   help="leave the objects of the imports (torch's ~150k) to the garbage collector")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results.json; quick/tiny: none)")
    p.add_argument("--plot", default=None, help="PNG path (default benchmarks/results.png; quick/tiny: none)")
    p.add_argument("--engine-path", default=None,
                   help="a folder holding another copy of the tinygrad_edu package to measure (e.g. an old commit)")
    p.add_argument("--in-process", action="store_true", help="no child process (no malloc/BLAS env changes)")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def config_from(args):
    return Config(quick=args.quick, tiny=args.tiny, only=[s for s in args.tasks.split(",") if s],
                  impls=[s for s in args.impls.split(",") if s], threads=args.threads,
                  memory=not args.no_memory, gc_freeze=not args.no_gc_freeze)


def main(argv=None):
    args = parse_args(argv)
    cfg = config_from(args)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    if args._worker:  # a child: run one setting, write its JSON, done
        if args.engine_path:  # ahead of the current folder, which `python -m` put first
            sys.path.insert(0, str(Path(args.engine_path).resolve()))
        res = run_suite(cfg, log)
        Path(args._worker).write_text(json.dumps(res))
        return 0

    t0 = time.perf_counter()
    blas = args.blas or ("env" if args.quick or args.tiny else "both")
    settings = ["env", "unset"] if blas == "both" else [blas]
    threads = cfg.threads or os.cpu_count() or 1
    runs = {}
    if args.in_process:
        log("running in this process (no malloc or BLAS environment changes)")
        if args.engine_path:
            sys.path.insert(0, str(Path(args.engine_path).resolve()))
        runs["inproc"] = run_suite(cfg, log)
    else:
        for setting in settings:
            log(f"[{setting}] OPENBLAS_CORETYPE {setting_label(setting)}; "
                f"malloc {args.malloc}; {threads} threads")
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "run.json"
                cmd = [sys.executable, "-m", "benchmarks.run", "--_worker", str(out),
                       "--impls", args.impls, "--threads", str(threads)]
                cmd += ["--quick"] * args.quick + ["--tiny"] * args.tiny + ["--no-memory"] * args.no_memory
                cmd += ["--no-gc-freeze"] * args.no_gc_freeze
                cmd += ["--tasks", args.tasks] if args.tasks else []
                cmd += ["--engine-path", args.engine_path] if args.engine_path else []
                env = child_env(setting, threads, args.malloc == "tuned", args.engine_path)
                proc = subprocess.run(cmd, env=env, cwd=harness.ROOT)
                if proc.returncode != 0:
                    log(f"[{setting}] the child process failed (exit {proc.returncode})")
                    return proc.returncode
                runs[setting] = json.loads(out.read_text())

    report = {
        "generated": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": asdict(cfg) | {"malloc": args.malloc, "settings": list(runs)},
        "runs": runs,
        "targets": {s: evaluate_targets(r) for s, r in runs.items()},
        "elapsed_s": time.perf_counter() - t0,
    }
    for setting, run in runs.items():
        print(f"\n### OPENBLAS_CORETYPE {setting_label(setting)}\n")
        print(format_table(run))
        print(f"\nmachine: {format_machine(run)}; {run['threads']} threads; run took {run['elapsed_s']:.0f} s")

    default_outputs = not (args.quick or args.tiny)
    out_path = args.out or (str(HERE / "results.json") if default_outputs else None)
    if out_path:
        Path(out_path).write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwrote {out_path}")
    plot_path = args.plot or (str(HERE / "results.png") if default_outputs else None)
    if plot_path and plot(runs, plot_path):
        print(f"wrote {plot_path}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
