"""Where the engine's time goes: a profile per task and the cost of each piece of machinery.

    python -m benchmarks.profile_engine                 # T1 T2 T3 T5 T6a
    python -m benchmarks.profile_engine --tasks T1 --top 25
    python -m benchmarks.profile_engine --engine-path /tmp/old   # another copy of the engine

For each task it prints the step time (no profiler), what one step does (ops recorded per
type, tensors made, bytes of new arrays, page faults), and cProfile's time grouped by what
the engine is doing (Tensor creation, Op.apply, the backward walk, unbroadcast, scopes,
the optimiser, numpy itself, ...), scaled to the unprofiled step time. Then micro-
benchmarks give µs per call of each piece in isolation.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
import timeit
from collections import Counter, defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

import numpy as np  # noqa: E402

from benchmarks import harness, tasks as tasks_mod  # noqa: E402

# ---------------------------------------------------------------------------------------
# Grouping cProfile entries.
# ---------------------------------------------------------------------------------------
GROUPS = {
    ("tensor.py", "_make"): "Tensor creation",
    ("tensor.py", "__init__"): "Tensor creation",
    ("tensor.py", "_as_array"): "Tensor creation",
    ("tensor.py", "_lift"): "lifting numbers/arrays to Tensors",
    ("tensor.py", "wrapper"): "composite/module scope bookkeeping",
    ("tensor.py", "scope"): "composite/module scope bookkeeping",
    ("nn.py", "__call__"): "composite/module scope bookkeeping",
    ("tensor.py", "backward"): "backward walk",
    ("tensor.py", "_backprop"): "backward walk",
    ("tensor.py", "topological_order"): "backward walk",
    ("tensor.py", "_seed_gradient"): "backward walk",
    ("tensor.py", "_accumulate"): "backward walk",
    ("tensor.py", "unbroadcast"): "unbroadcast",
    ("tensor.py", "_axes"): "argument normalisation (_axes, _index)",
    ("tensor.py", "_index"): "argument normalisation (_axes, _index)",
    ("ops.py", "apply"): "Op.apply (graph recording)",
    ("ops.py", "<listcomp>"): "Op.apply (graph recording)",
    ("ops.py", "forward"): "op forward methods (incl. numpy operators they run)",
    ("ops.py", "backward"): "op backward rules (incl. numpy operators they run)",
}
FILE_GROUPS = {
    "tensor.py": "Tensor methods and properties (dispatch)",
    "ops.py": "op backward rules (incl. numpy operators they run)",
    "composites.py": "composite bodies (incl. numpy operators they run)",
    "speed.py": "speed.py helpers (incl. numpy operators they run)",
    "nn.py": "nn layers and losses (incl. numpy operators they run)",
    "optim.py": "optimiser (SGD step, zero_grad)",
    "contextlib.py": "composite/module scope bookkeeping",
}


def _group_of(key):
    filename, _, func = key
    if filename == "~":  # a builtin: numpy's C code, or plain Python builtins (attributed to callers)
        return "numpy calls made by name (np.exp, .sum(), np.array, ...)" if ("numpy" in func or "ndarray" in func) else None
    name = Path(filename).name
    if "/numpy/" in filename:
        return "numpy Python wrappers (fromnumeric, broadcast_to, ...)"
    if "tinygrad_edu" in filename or name == "contextlib.py":
        return GROUPS.get((name, func)) or FILE_GROUPS.get(name, f"other ({name})")
    if "benchmarks" in filename:
        return "the benchmark's step function"
    return f"other ({name})"


def grouped_times(stats: pstats.Stats):
    """{group: seconds} from cProfile tottimes; builtins like isinstance, id, list.append
    count for the group of whoever called them."""
    out = defaultdict(float)
    for key, (_, _, tt, _, callers) in stats.stats.items():
        group = _group_of(key)
        if group is not None:
            out[group] += tt
            continue
        total_from_callers = sum(c[2] for c in callers.values()) or 1.0
        for caller, c in callers.items():
            out[_group_of(caller) or "other builtins"] += tt * c[2] / total_from_callers
    return dict(out)


# ---------------------------------------------------------------------------------------
# What a step does.
# ---------------------------------------------------------------------------------------
def census(step):
    """Ops recorded by type, tensors made, and bytes of fresh arrays, in one step."""
    from tinygrad_edu import ops
    from tinygrad_edu.tensor import Tensor

    from tinygrad_edu.tensor import _modes

    counts, made = Counter(), [0, 0]
    orig_apply, orig_make = ops.Op.apply.__func__, Tensor._make.__func__

    def apply(cls, *a, **k):  # in the forward pass grad mode is on; backward rules run with it off
        counts[(cls.__name__, "fwd" if _modes.grad_enabled else "bwd")] += 1
        return orig_apply(cls, *a, **k)

    def make(cls, data, *a, **k):
        made[0] += 1
        if isinstance(data, np.ndarray) and data.flags.owndata:
            made[1] += data.nbytes
        return orig_make(cls, data, *a, **k)

    ops.Op.apply, Tensor._make = classmethod(apply), classmethod(make)
    try:
        step()
    finally:
        ops.Op.apply, Tensor._make = classmethod(orig_apply), classmethod(orig_make)
    return counts, made[0], made[1]


def page_faults(step, n):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n


def step_time(step, seconds=0.5, min_n=3):
    samples, t_end = [], time.perf_counter() + seconds
    while len(samples) < min_n or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples)), len(samples)


def engine_object(task):
    from benchmarks import impl_engine

    if task.kind == "mlp":
        X, y = tasks_mod.mlp_data(task)
        return impl_engine.MLP(task, X, y, tasks_mod.mlp_weights(task))
    if task.kind == "act":
        return impl_engine.Act(task, *tasks_mod.act_data(task))
    return impl_engine.Chain(task)


def profile_task(task, top):
    obj = engine_object(task)
    for _ in range(3):
        obj.step()
    t_step, n = step_time(obj.step, 0.3 if task.kind == "chain" else 1.0)
    counts, n_tensors, nbytes = census(obj.step)
    faults = page_faults(obj.step, max(1, min(50, int(0.3 / t_step))))
    n_prof = max(1, min(2000, int(1.0 / t_step)))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n_prof):
        obj.step()
    prof.disable()
    stats = pstats.Stats(prof)
    groups = grouped_times(stats)
    total = sum(groups.values())
    n_ops = sum(counts.values())
    n_fwd = sum(v for (_, phase), v in counts.items() if phase == "fwd")
    print(f"\n## {task.name}: {task.title}")
    print(f"step {t_step * 1e6:,.1f} µs (median of {n}, no profiler); {n_ops} Op.apply calls "
          f"({n_fwd} in the forward pass, {n_ops - n_fwd} inside backward rules): "
          f"{t_step / max(n_ops, 1) * 1e6:.2f} µs per op all included; {n_tensors} tensors made; "
          f"{nbytes / 2**20:.2f} MiB of new arrays; {faults:.0f} page faults per step")
    for phase in ("fwd", "bwd"):
        line = ", ".join(f"{k} {v}" for (k, ph), v in counts.most_common() if ph == phase)
        print(f"ops in {'forward' if phase == 'fwd' else 'backward rules'}: {line or '-'}")
    print("\n| where (cProfile tottime, builtins charged to their caller) | share | ≈ µs/step | µs/op |")
    print("| --- | ---: | ---: | ---: |")
    for g, s in sorted(groups.items(), key=lambda kv: -kv[1]):
        share = s / total
        print(f"| {g} | {share * 100:.1f}% | {share * t_step * 1e6:,.1f} | {share * t_step * 1e6 / max(n_ops, 1):.2f} |")
    if top:
        print(f"\ntop {top} functions by own time (cProfile, per step, with profiler overhead):")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
        for (filename, line, func), (cc, nc, tt, ct, _) in rows:
            where = f"{Path(filename).name}:{line}" if filename != "~" else ""
            print(f"  {tt / n_prof * 1e6:9.2f} µs own {ct / n_prof * 1e6:9.2f} µs cum {nc / n_prof:8.1f} calls  {where} {func}")
    return {"task": task.name, "step_s": t_step, "ops": {f"{k}/{ph}": v for (k, ph), v in counts.items()}, "tensors": n_tensors,
            "new_array_bytes": nbytes, "page_faults": faults, "groups_share": {g: s / total for g, s in groups.items()}}


# ---------------------------------------------------------------------------------------
# Each piece in isolation.
# ---------------------------------------------------------------------------------------
def _us(fn, number=None):
    if number is None:
        t = timeit.timeit(fn, number=50)
        number = max(50, int(0.2 / max(t / 50, 1e-9)))
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def micro():
    import tinygrad_edu as tg
    from tinygrad_edu import nn, ops, optim
    from tinygrad_edu.tensor import Tensor, topological_order, unbroadcast

    rows = []
    a_np, b_np = np.ones((4, 8)), np.full((4, 8), 2.0)
    a = Tensor(a_np, requires_grad=True)
    b = Tensor(b_np)
    c = Tensor(b_np)
    rows.append(("numpy: np.add on (4,8) float64 (the floor's cost of one op)", _us(lambda: np.add(a_np, b_np))))
    rows.append(("numpy: a_np * 2.0", _us(lambda: a_np * 2.0)))
    rows.append(("Tensor._make(arr) (internal constructor)", _us(lambda: Tensor._make(a_np))))
    rows.append(("Tensor(arr) (public constructor, checks)", _us(lambda: Tensor(a_np))))
    rows.append(("Tensor(2.0) (a Python number)", _us(lambda: Tensor(2.0))))
    rows.append(("ops.Add.apply(b, c), no input requires grad", _us(lambda: ops.Add.apply(b, c))))
    rows.append(("ops.Add.apply(a, b), records a node", _us(lambda: ops.Add.apply(a, b))))
    rows.append(("a + b (Tensor.__add__, records)", _us(lambda: a + b)))
    rows.append(("a * 2.0 (lifts the number, records)", _us(lambda: a * 2.0)))
    rows.append(("a - b (composite sub: scope + mul + add)", _us(lambda: a - b)))
    rows.append(("-a (composite neg)", _us(lambda: -a)))
    rows.append(("a.relu() (composite)", _us(lambda: a.relu())))
    rows.append(("a.relu() under no_grad (composite, no scope)", _us(_no_grad(tg, lambda: a.relu()))))
    rows.append(("a.sum() (primitive, axis normalisation)", _us(lambda: a.sum())))
    rows.append(("a.mean() (composite: sum * 1/n)", _us(lambda: a.mean())))
    rows.append(("a.T (transpose)", _us(lambda: a.T)))
    w = Tensor(np.ones((8, 8)), requires_grad=True)
    rows.append(("a @ w (4,8)@(8,8)", _us(lambda: a @ w)))
    rows.append(("numpy: a_np @ w_np (4,8)@(8,8)", _us(lambda: a_np @ w.data)))

    # the backward walk, per node: a chain of n adds of a constant
    n = 2000

    def chain():
        x = a
        for _ in range(n):
            x = x + b
        return x

    y = chain()
    g = np.ones((4, 8))
    rows.append((f"topological_order, per node (chain of {n})", _us(lambda: topological_order(y), 5) / n))

    def walk():
        a.grad = None
        y.backward(g)

    rows.append((f"y.backward() per node (chain of {n} adds: walk + Add.backward + bookkeeping)", _us(walk, 5) / n))
    rows.append((f"forward: x = x + b per node (chain of {n})", _us(chain, 5) / n))
    del y

    gt = Tensor(np.ones((4, 8)))
    rows.append(("unbroadcast((4,8) -> (8,)) (a Sum op + reshape)", _us(lambda: unbroadcast(gt, (8,)))))
    rows.append(("numpy: g.sum(axis=0)", _us(lambda: gt.data.sum(axis=0))))

    lin = nn.Linear(8, 8)
    x_in = Tensor(np.ones((4, 8)))
    rows.append(("nn.Linear(8,8)(x) (module call: scope + T + matmul + add)", _us(lambda: lin(x_in))))
    rows.append(("x @ W.T + b written out on Tensors (no module)", _us(lambda: x_in @ lin.weight.T + lin.bias)))
    rows.append(("numpy: x @ W.T + b", _us(lambda: x_in.data @ lin.weight.data.T + lin.bias.data)))

    model = nn.MLP([2, 8, 1])
    params = model.parameters()
    opt = optim.SGD(params, lr=0.01)
    for p in params:
        p.grad = Tensor(np.zeros_like(p.data))

    def sgd_step():
        opt.step()

    rows.append((f"SGD.step() per parameter ({len(params)} params of MLP 2-8-1)", _us(sgd_step) / len(params)))
    rows.append(("numpy: W -= lr * g (one parameter)", _us(lambda: np.subtract(params[0].data, 0.01 * params[0].grad.data, out=params[0].data))))
    rows.append(("opt.zero_grad() per parameter", _us(lambda: opt.zero_grad()) / len(params)))
    rows.append(("model.parameters() (walks the attributes)", _us(lambda: model.parameters())))

    print("\n## The machinery in isolation (µs per call, best of 5)\n")
    print("| what | µs |")
    print("| --- | ---: |")
    for what, us in rows:
        print(f"| {what} | {us:.2f} |")
    return dict(rows)


def _no_grad(tg, fn):
    def run():
        with tg.no_grad():
            return fn()
    return run


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_engine", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="T1,T2,T3,T5,T6a")
    p.add_argument("--top", type=int, default=12, help="also list the N functions with most own time")
    p.add_argument("--no-micro", action="store_true")
    p.add_argument("--engine-path", default=None)
    args = p.parse_args(argv)
    if args.engine_path:
        sys.path.insert(0, str(Path(args.engine_path).resolve()))
    import tinygrad_edu

    print(f"engine: {Path(tinygrad_edu.__file__).parent} at {harness.git_commit(Path(tinygrad_edu.__file__).parent)}")
    wanted = [s for s in args.tasks.split(",") if s]
    for task in tasks_mod.make_tasks():
        if task.name in wanted:
            profile_task(task, args.top)
    if not args.no_micro:
        micro()


if __name__ == "__main__":
    main()
