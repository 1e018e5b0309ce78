"""Tracing for ``tg.compile``: record every primitive a function applies, then its backward.

The engine calls ``tracer.record(op, params, inputs, out)`` from ``Op.apply`` for every op
while a tracer is set (``modes.per_thread.modes.tracer``), constants and masks included.
So running the function once, eagerly, gives the list of primitives it applied; running
the engine's own backward walk afterwards, with grad mode on (as ``create_graph=True``
does), gives the backward pass as more primitives. No derivative is written here.

What the recorded ops read that no recorded op made is an *external* value: an argument,
a tensor the function found in its closure (a model's parameters), or a constant made on
the way (the ``0.0`` of ReLU). To tell the closure tensors apart and to check on later
calls that the function still reads the same ones, ``find_paths`` looks for each of them
from the function's closure, defaults and globals (through modules, lists, tuples, dicts
and object attributes) and remembers where it was found, as torch.compile's guards do.
"""
from __future__ import annotations

import linecache
import os
import sys
import types

import numpy as np

from . import modes, ops, random as tg_random
from .tensor import Tensor, backprop, initial_gradient, topological_order

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class CompileError(RuntimeError):
    """``tg.compile`` cannot replay this function faithfully; the message says why and where."""


class Record:
    """One op seen while tracing: the op, its parameters, its input and output tensors."""

    __slots__ = ("op", "params", "inputs", "out", "phase", "scope", "rule", "context", "subject", "line")

    def __init__(self, op, params, inputs, out, phase, scope):
        self.op, self.params, self.inputs, self.out = op, params, inputs, out
        self.phase, self.scope = phase, scope
        self.rule = self.context = self.subject = None  # backward: which rule/step made it
        self.line = None  # the user's line, for an op whose output shape depends on values


class Tracer:
    """Collects the ops of one trace (set as ``modes.per_thread.modes.tracer``)."""

    def __init__(self, name):
        self.name = name
        self.records = []
        self.phase = "forward"
        self.first_seen = {}  # id(tensor) -> (tensor, its version and .grad when an op first read it)

    def record(self, op, params, inputs, out):
        """Called by ``Op.apply`` after each op: keep it (and its tensors, alive)."""
        for t in inputs:
            if id(t) not in self.first_seen:
                self.first_seen[id(t)] = (t, t.version, t.grad)
        rec = Record(op, params, inputs, out, self.phase, modes.per_thread.modes.scope)
        if self.phase == "backward":
            rec.context, rec.rule, rec.subject = _walk_step(sys._getframe(2))
        elif isinstance(op, ops.GetItem) and _has_mask(params.get("idx")):
            rec.line = user_line()
        self.records.append(rec)

    def refuse(self, what):
        """Called where a tensor's value would leave the graph: raise, naming the user's line."""
        raise CompileError(
            f"tg.compile({self.name}): the function reads a tensor's value with {what} while it is "
            f"being traced, at {user_line()}. A compiled function is replayed without running its "
            f"Python code, so what Python does with that value would not happen again. Keep it "
            f"outside the compiled function (for example call loss.item() on the result it returns), "
            f"or use tensor operations instead (tg.where instead of an if).")


def _has_mask(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, np.ndarray) and i.dtype == np.bool_ for i in items)


def _walk_step(frame):
    """Which step of the backward walk is running: ("rule", op) inside an op's backward rule,
    ("unbroadcast", x) when a gradient is summed to x's shape, ("accumulate", x) when two
    gradients of x are added. Read from the stack, at trace time only, for comments."""
    while frame is not None:
        name = frame.f_code.co_name
        if name == "unbroadcast":
            return "unbroadcast", None, frame.f_locals.get("x")
        if name == "backward":
            rule = frame.f_locals.get("self")
            if isinstance(rule, ops.Op):
                return "rule", rule, None
        elif name == "backprop":
            return "accumulate", None, frame.f_locals.get("x")
        frame = frame.f_back
    return None, None, None


def user_line():
    """``file:line (`code`)`` of the innermost frame outside tinygrad_edu (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "an unknown line"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" + (f" (`{code}`)" if code else "")


class Trace:
    """What one traced call produced: the records, where the forward part ends, the output,
    the upstream-gradient placeholder (``seed``) and the gradients of the differentiable inputs."""

    def __init__(self, name, records, n_forward, output, seed, grads):
        self.name, self.records, self.n_forward = name, records, n_forward
        self.output, self.seed, self.grads = output, seed, grads


def run_traced(fn, args, kwargs, name, differentiate):
    """Run ``fn(*args, **kwargs)`` eagerly with a tracer set; then, if ``differentiate`` and
    the output requires grad, run the backward walk the way ``create_graph=True`` does.

    A tensor changed in place or given a new ``.grad`` after an op read it, or random
    numbers drawn, mean side effects that a replay would miss: that is refused.
    Returns a ``Trace``; ``grads`` maps each tensor the walk reached to its gradient.
    """
    tracer = Tracer(name)
    state = modes.per_thread.modes
    random_before = _random_state()
    saved = state.tracer
    state.tracer = tracer
    try:
        with modes.set_grad_enabled(differentiate or modes.is_grad_enabled()):
            output = fn(*args, **kwargs)
        if not isinstance(output, Tensor):
            raise CompileError(f"tg.compile({name}): the function must return one Tensor, got "
                               f"{type(output).__name__}; return the loss and compute other results outside")
        _check_no_side_effects(name, tracer.first_seen.values(), random_before)
        n_forward = len(tracer.records)
        seed, grads = None, {}
        if differentiate and output.requires_grad:
            tracer.phase = "backward"
            seed = Tensor.wrap(np.ones(output.shape, dtype=output.dtype))
            order = topological_order(output)
            with modes.set_grad_enabled(True):  # record the rules' ops, as create_graph=True does
                grads = backprop(order, initial_gradient(output, seed, "tg.compile"))
    finally:
        state.tracer = saved
    return Trace(name, tracer.records, n_forward, output, seed, grads)


def _random_state():
    rng = tg_random.generator()
    return rng, rng.bit_generator.state, np.random.get_state()[1:3]


def _check_no_side_effects(name, before, random_before):
    for t, version, grad in before:
        what = None
        if t.version != version:
            what = "changed a tensor in place (an optimiser step or load_state_dict?)"
        elif t.grad is not grad:
            what = "changed a tensor's .grad (did it call backward()?)"
        if what:
            raise CompileError(
                f"tg.compile({name}): the function {what} while it was traced; a replay would not "
                f"do that again. Compile only the computation of the loss and call backward() and "
                f"opt.step() on its result, outside the compiled function.")
    rng, state, legacy = _random_state()
    old_rng, old_state, old_legacy = random_before
    if rng is not old_rng or state != old_state or legacy[1] != old_legacy[1] \
            or not np.array_equal(legacy[0], old_legacy[0]):
        raise CompileError(
            f"tg.compile({name}): the function drew random numbers while it was traced (dropout, "
            f"a random mask, ...); a replay would reuse the same numbers every time. Draw them "
            f"outside and pass them to the compiled function as an argument.")


# ---------------------------------------------------------------------------------------
# Where the function finds its tensors.
# ---------------------------------------------------------------------------------------
_LEAVES = (str, bytes, int, float, complex, bool, type(None), np.ndarray, np.generic, type,
           types.ModuleType, types.BuiltinFunctionType, range, slice)
MAX_OBJECTS = 20_000  # a search gives up after this many objects (a data set in a list, ...)


def roots_of(fn, args, kwargs):
    """Where a search for the function's tensors starts: ``[(step, object), ...]``.

    A step says how to get the object again on a later call: ("arg", i) and ("kwarg", k)
    from the call, ("fn",) for the function itself (a module or callable object).
    """
    roots = [(("arg", i), a) for i, a in enumerate(args)]
    roots += [(("kwarg", k), v) for k, v in sorted(kwargs.items())]
    roots.append((("fn",), fn))
    return roots


def children(obj):
    """The objects a search looks into from ``obj``, each with the step that reaches it."""
    if isinstance(obj, _LEAVES) or isinstance(obj, Tensor):
        return
    if isinstance(obj, types.FunctionType):
        code = obj.__code__
        for i, (name, cell) in enumerate(zip(code.co_freevars, obj.__closure__ or ())):
            try:
                yield ("cell", i, name), cell.cell_contents
            except ValueError:  # an empty cell
                continue
        for i, d in enumerate(obj.__defaults__ or ()):
            yield ("default", i), d
        for k, d in sorted((obj.__kwdefaults__ or {}).items()):
            yield ("kwdefault", k), d
        for name in _global_names(code):
            if name in obj.__globals__:
                yield ("global", name), obj.__globals__[name]
        return
    if isinstance(obj, types.MethodType):
        yield ("self",), obj.__self__
        yield ("func",), obj.__func__
        return
    if isinstance(obj, list | tuple):
        for i, item in enumerate(obj):
            yield ("item", i), item
        return
    if isinstance(obj, dict):
        for k, item in list(obj.items()):
            if isinstance(k, str | int):
                yield ("item", k), item
        return
    func = getattr(obj, "func", None)
    if func is not None and hasattr(obj, "keywords"):  # functools.partial
        yield ("getattr", "func"), func
        yield ("getattr", "args"), obj.args
        yield ("getattr", "keywords"), obj.keywords
        return
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        for k, item in list(attrs.items()):
            yield ("attr", k), item
        call = getattr(type(obj), "__call__", None)  # a callable object: what its methods read
        if isinstance(call, types.FunctionType) and type(obj).__module__ != "builtins":
            yield ("method", "__call__"), call


def _global_names(code):
    names = list(code.co_names)
    for const in code.co_consts:  # nested functions and lambdas read globals too
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return list(dict.fromkeys(names))


def find_paths(roots, targets):
    """For each tensor in ``targets`` that can be reached from ``roots``: the paths of steps
    that reach it, shortest first (breadth-first search; a few at most). A tensor found
    at two places (tied weights) has two paths, so a later call can check it still is one
    tensor. Returns ``{id(tensor): [path, ...]}``."""
    wanted = {id(t) for t in targets}
    found, seen = {}, set()
    frontier = [((step,), obj) for step, obj in roots]
    while frontier and len(seen) < MAX_OBJECTS:
        nxt = []
        for path, obj in frontier:
            if isinstance(obj, Tensor):
                if id(obj) in wanted and len(found.setdefault(id(obj), [])) < 4:
                    found[id(obj)].append(path)
                continue
            if id(obj) in seen or len(path) > 12:
                continue
            seen.add(id(obj))
            nxt.extend((path + (step,), child) for step, child in children(obj))
        frontier = nxt
    return found


def follow(path, fn, args, kwargs):
    """The object that ``path`` reaches on this call (raises if the path is broken)."""
    obj = None
    for step in path:
        kind = step[0]
        if kind == "arg":
            obj = args[step[1]]
        elif kind == "kwarg":
            obj = kwargs[step[1]]
        elif kind == "fn":
            obj = fn
        elif kind == "cell":
            obj = obj.__closure__[step[1]].cell_contents
        elif kind == "default":
            obj = obj.__defaults__[step[1]]
        elif kind == "kwdefault":
            obj = obj.__kwdefaults__[step[1]]
        elif kind == "global":
            obj = obj.__globals__[step[1]]
        elif kind == "self":
            obj = obj.__self__
        elif kind == "func":
            obj = obj.__func__
        elif kind == "item":
            obj = obj[step[1]]
        elif kind == "attr":
            obj = obj.__dict__[step[1]]
        elif kind == "getattr":
            obj = getattr(obj, step[1])
        elif kind == "method":
            obj = getattr(type(obj), step[1])
    return obj


def path_name(path):
    """A readable dotted name for a path: ``model.layers.0.weight``."""
    parts = []
    for step in path:
        kind = step[0]
        if kind in ("arg", "default", "func", "fn", "self", "method"):
            continue
        if kind == "cell":
            parts.append(step[2])
        elif kind in ("kwarg", "kwdefault", "global", "attr", "getattr", "item"):
            if kind == "attr" and step[1] == "modules" and parts:  # Sequential's list: layers.0
                continue
            parts.append(str(step[1]))
    return ".".join(parts)
