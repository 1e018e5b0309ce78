"""Which tensors a trace reads, what they are called, and the check that a call fits a trace.

A traced program is only right for calls like the traced one. Its *guard*, written here as
a small Python function, checks a new call in about a microsecond: the arguments have the
traced shapes, dtypes and requires_grad (``arg_key``, compared through a dict lookup), and
the function still finds the tensors it read where it found them (``write_guard``). The
inputs get names for the code from the call's signature, labels, or the dotted path the
function found them at (``input_names``).
"""
from __future__ import annotations

import inspect

import numpy as np

from .compiler_trace import follow, path_name
from .tensor import Tensor

SCALARS = (int, float, bool, str, type(None))


def input_order(found):
    """Sort key: tensor arguments first, in the order of the call, then the rest."""
    step = found[0][0] if found else ("closure",)
    return (0, step[1]) if step[0] == "arg" else (1, 0) if step[0] == "kwarg" else (2, 0)


def arg_key(a):
    """What part of an argument the trace depends on: shape, dtype and requires_grad of a
    tensor, shape and dtype of an array, the value of a number or string, else the object."""
    if isinstance(a, Tensor):
        return (a.data.shape, a.data.dtype, a.requires_grad)
    if isinstance(a, np.ndarray):
        return ("array", a.shape, a.dtype)
    if isinstance(a, SCALARS):
        return (type(a), a)
    if isinstance(a, list | tuple):
        return (type(a), tuple(map(arg_key, a)))
    return ("object", id(a))


def externals(trace):
    """The tensors the recorded ops read that no recorded op made, in first-use order."""
    made, seen, out = set(), set(), []
    for rec in trace.records:
        for t in rec.inputs:
            if id(t) not in made and id(t) not in seen and t is not trace.seed:
                seen.add(id(t))
                out.append(t)
        made.add(id(rec.out))
    if id(trace.output) not in made and id(trace.output) not in seen:
        out.append(trace.output)
    return out


def input_names(fn, inputs, paths, arrays):
    """Names for the inputs: argument names, labels, or the shortest unique end of the
    dotted path the function found a tensor at (``layers.0.weight``)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []

    def arg_name(step):
        if step[0] == "arg":
            return params[step[1]] if step[1] < len(params) else f"arg{step[1]}"
        return step[1]

    dotted = []
    for t in inputs:
        path = paths.get(id(t), [()])[0]
        if path and path[0][0] in ("arg", "kwarg"):
            rest = path_name(path[1:])
            dotted.append(arg_name(path[0]) + (f".{rest}" if rest else ""))
        else:
            dotted.append(path_name(path) or t.label or "w")
    labels = [t.label for t in inputs]
    names = []
    for i, (t, d) in enumerate(zip(inputs, dotted)):
        if t.label and labels.count(t.label) == 1 and not (paths.get(id(t)) and
                                                           paths[id(t)][0][0][0] in ("arg", "kwarg")):
            names.append(t.label)
            continue
        parts = d.split(".")
        for k in range(1, len(parts) + 1):
            tail = parts[-k:]
            if tail[0][:1].isdigit():
                continue
            candidate = ".".join(tail)
            if sum(o == candidate or o.endswith("." + candidate) for o in dotted) == 1:
                break
        names.append(candidate)
    names += [arg_name(step) for step, _ in arrays]
    return names


def write_guard(inputs, paths, arrays, program, call):
    """The source of a function ``guard(fn, args, kwargs)`` → ``(tensors, arrays)`` of this
    call if the trace applies to it, else None (shared path prefixes computed once), and the
    tuple ``K`` of the objects it compares with.

    It follows each path the trace found a tensor at. Every tensor found must have the
    traced shape, dtype and requires_grad; it may be a new tensor on every call (a batch,
    in an argument or in an attribute the function reads), except a parameter (a tensor that
    requires grad) that the function found in its closure, defaults or globals: that must be
    the very tensor traced, so that a function that now reads another model is traced again.
    The lists and dicts on the way must keep their length (a layer appended to a
    Sequential). ``call`` is the traced call ``(fn, args, kwargs)``.
    """
    consts, lines, checks = [], [], []
    var_of = {}

    def const(x):
        consts.append(x)
        return f"K[{len(consts) - 1}]"

    def reach(path):
        """A variable holding the object at ``path`` (emitting the lines that compute it)."""
        if path in var_of:
            return var_of[path]
        step, kind = path[-1], path[-1][0]
        if kind == "arg":
            expr = f"args[{step[1]}]"
        elif kind == "kwarg":
            expr = f"kwargs[{const(step[1])}]"
        elif kind == "fn":
            expr = "fn"
        else:
            o = reach(path[:-1])
            expr = {"cell": lambda: f"{o}.__closure__[{step[1]}].cell_contents",
                    "default": lambda: f"{o}.__defaults__[{step[1]}]",
                    "kwdefault": lambda: f"{o}.__kwdefaults__[{const(step[1])}]",
                    "global": lambda: f"{o}.__globals__[{const(step[1])}]",
                    "self": lambda: f"{o}.__self__", "func": lambda: f"{o}.__func__",
                    "item": lambda: f"{o}[{const(step[1])}]",
                    "attr": lambda: f"{o}.__dict__[{const(step[1])}]",
                    "getattr": lambda: f"getattr({o}, {const(step[1])})",
                    "method": lambda: f"getattr(type({o}), {const(step[1])})"}[kind]()
        var = var_of[path] = f"o{len(var_of)}"
        lines.append(f"        {var} = {expr}")
        obj = follow(path, *call)
        if isinstance(obj, list | tuple | dict) and kind not in ("arg", "kwarg"):
            checks.append(f"len({var}) != {len(obj)}")
        return var

    outs = []
    for t in inputs:
        found = paths.get(id(t))
        if not found:  # a tensor that requires grad, found no other way: held by the trace
            var = const(t)
        else:
            var = reach(found[0])
            checks += [f"{reach(other)} is not {var}" for other in found[1:]]
            if found[0][0][0] not in ("arg", "kwarg") and t.requires_grad:
                checks.append(f"{var} is not {const(t)}")  # the very parameter traced
            elif len(found[0]) == 1:  # a tensor argument: its key was compared already
                outs.append(var)
                continue
            else:
                checks.append(f"not isinstance({var}, Tensor)")
        expected = const((t.requires_grad, t.data.shape, t.data.dtype))
        checks.append(f"({var}.requires_grad, {var}.data.shape, {var}.data.dtype) != {expected}")
        outs.append(var)
    used = {id(d) for step in program.steps for d in step.deps()} | {id(v) for v in program.results()}
    array_vars = []
    for (step, a), v in zip(arrays, program.inputs[len(inputs):]):
        var = reach((step,))
        array_vars.append(var)
        if id(v) not in used:  # read some other way (converted?): the values must be the same
            checks.append(f"not np.array_equal({var}, {const(a.copy())})")
    src = ["def guard(fn, args, kwargs):", "    try:", *(lines or ["        pass"]),
           "    except (IndexError, KeyError, AttributeError, TypeError, ValueError):",
           "        return None"]
    if checks:
        src.append("    if (" + "\n            or ".join(checks) + "):\n        return None")
    tensors = ", ".join(outs) + ("," if len(outs) == 1 else "")
    arrs = ", ".join(array_vars) + ("," if len(array_vars) == 1 else "")
    src.append(f"    return ({tensors}), ({arrs})")
    return "\n".join(src) + "\n", tuple(consts)
