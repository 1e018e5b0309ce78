"""The traced program of ``tg.compile``: one value per primitive op, in the order they ran.

A ``Program`` is a list of ``Value``s in the order the eager run computed them: the inputs
(tensors and arrays the function was given or found), constants, the upstream gradient
``seed`` of the backward part, and one value per primitive op, forward part first, then
the backward part in the order the engine's walk ran its rules. ``build`` makes it from a
trace; the passes in ``compiler_passes`` rewrite it; ``compiler_codegen`` writes it as Python.
"""
from __future__ import annotations

import math

import numpy as np

from . import ops
from .modes import Scope

# Ops whose output shares memory with an input (or may: ops the compiler does not know).
VIEW_OPS = (ops.Reshape, ops.Transpose, ops.Expand, ops.GetItem, ops.Detach)


class Value:
    """One value of the program.

    ``kind`` is "input" (an argument or a tensor the function read; ``slot`` says which),
    "const" (``array`` holds it), "seed" (the upstream gradient) or "op" (``op`` computed it
    from ``args``, with ``params``, in which arrays are replaced by the Values holding them).
    ``shape``, ``dtype`` and ``strides`` are those the eager run produced.
    """

    __slots__ = ("kind", "op", "args", "params", "array", "shape", "dtype", "strides", "phase",
                 "scope", "rule", "context", "subject", "tensor", "slot", "same", "index", "name",
                 "grad_of", "hint", "label", "needs_grad", "refs")

    def __init__(self, kind, array, phase="forward"):
        self.kind, self.phase, self.array = kind, phase, array
        self.shape, self.dtype, self.strides = array.shape, array.dtype, array.strides
        self.op = self.params = self.scope = self.rule = self.context = self.subject = None
        self.tensor = self.slot = self.same = self.name = self.grad_of = self.hint = self.label = None
        self.needs_grad = False
        self.args, self.refs, self.index = (), (), -1  # refs: the Values inside params

    @property
    def size(self):
        """The number of elements."""
        return math.prod(self.shape)

    def deps(self):
        """The values this one is computed from: its inputs, then the arrays in its params."""
        return self.args + self.refs if self.refs else self.args

    def __repr__(self):
        return f"<{self.kind} {self.name or self.index} {self.shape} {self.dtype}>"


def params_values(obj):
    """The Values inside a params structure (dicts, tuples, lists)."""
    if isinstance(obj, Value):
        return [obj]
    if isinstance(obj, dict):
        return [v for item in obj.values() for v in params_values(item)]
    if isinstance(obj, tuple | list):
        return [v for item in obj for v in params_values(item)]
    return []


def map_params(obj, fn):
    """The params structure with every Value ``v`` replaced by ``fn(v)``."""
    if isinstance(obj, Value):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_params(v, fn) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(map_params(v, fn) for v in obj)
    if isinstance(obj, list):
        return [map_params(v, fn) for v in obj]
    return obj


class Program:
    """The joint forward and backward program of one trace.

    ``inputs``: the input Values in calling order; ``seed``: the upstream gradient (None for
    a forward-only trace); ``steps``: the op Values in execution order; ``output``: the
    forward result; ``grads``: one Value (or None) per input, its gradient.
    """

    def __init__(self, inputs, seed, steps, output, grads):
        self.inputs, self.seed, self.steps, self.output, self.grads = inputs, seed, steps, output, grads
        self.stats = {}  # what each pass did, for the header of the source
        self.dirty = False  # has a pass marked a value as the ``same`` as another?

    def consts(self):
        """The constants the steps use, in first-use order."""
        seen = {}
        for v in self.steps:
            for d in v.deps():
                if d.kind == "const":
                    seen.setdefault(id(d), d)
        for v in [self.output, *self.grads]:
            if v is not None and v.kind == "const":
                seen.setdefault(id(v), v)
        return list(seen.values())

    def results(self):
        """The values the program hands back: the output and the gradients."""
        return [v for v in [self.output, *self.grads] if v is not None]

    def resolve(self):
        """Replace every use of a value marked ``same`` by the value it is the same as."""
        if not self.dirty:
            self.steps = [v for v in self.steps if v.kind == "op"]
            return

        def r(v):
            while v.same is not None:
                v = v.same
            return v
        for v in self.steps:
            v.args = tuple(r(a) for a in v.args)
            if v.refs:
                v.params = map_params(v.params, r)
                v.refs = tuple(params_values(v.params))
        self.dirty = False
        self.output = r(self.output)
        self.grads = [None if g is None else r(g) for g in self.grads]
        self.steps = [v for v in self.steps if v.same is None and v.kind == "op"]


# ---------------------------------------------------------------------------------------
# Building the program from a trace.
# ---------------------------------------------------------------------------------------
def build(trace, tensor_inputs, array_inputs):
    """The Program of a ``compiler_trace.Trace``.

    ``tensor_inputs``: the tensors that become inputs (the compiled call's parents), in
    order; ``array_inputs``: numpy arrays given as arguments. Every other tensor that an op
    read without an op having made it is a constant of the trace.
    """
    by_tensor, by_array = {}, {}
    inputs = []
    for t in tensor_inputs:
        v = Value("input", t.data)
        v.slot, v.tensor, v.needs_grad, v.label = len(inputs), t, t.requires_grad, t.label
        inputs.append(v)
        by_tensor[id(t)] = v
        by_array.setdefault(id(t.data), v)
    for a in array_inputs:
        v = Value("input", a)
        v.slot = len(inputs)
        inputs.append(v)
        by_array.setdefault(id(a), v)
    seed = None
    if trace.seed is not None:
        seed = by_tensor[id(trace.seed)] = Value("seed", trace.seed.data, phase="backward")
        seed.tensor = trace.seed

    def array_value(a):
        v = by_array.get(id(a))
        if v is None:
            v = by_array[id(a)] = Value("const", a)
        return v

    def tensor_value(t):
        v = by_tensor.get(id(t))
        if v is None:  # made by no recorded op: a constant (or a lifted array argument)
            v = by_tensor[id(t)] = array_value(t.data)
            if v.kind == "const" and v.tensor is None:
                v.tensor = t
        return v

    def param_value(obj):
        if isinstance(obj, np.ndarray):
            return array_value(obj)
        if isinstance(obj, dict):
            return {k: param_value(v) for k, v in obj.items()}
        if isinstance(obj, tuple):
            return tuple(param_value(v) for v in obj)
        if isinstance(obj, list):
            return [param_value(v) for v in obj]
        return obj

    scopes = {}  # the composite/module calls, copied without their arguments (kept for pictures)

    def scope_copy(scope):
        return tuple(scopes.setdefault(id(s), Scope(s.name, s.kind)) for s in scope or ())

    steps = []
    for rec in trace.records:
        v = Value("op", rec.out.data, phase=rec.phase)
        v.op, v.args = rec.op, tuple(tensor_value(t) for t in rec.inputs)
        v.params = param_value(rec.params)
        v.refs = tuple(params_values(v.params))
        v.scope, v.rule, v.context, v.tensor = scope_copy(rec.scope), rec.rule, rec.context, rec.out
        v.label = rec.out.label
        if rec.line is not None:
            _check_mask(v, rec.line, trace.name)
        if rec.subject is not None:
            v.subject = by_tensor.get(id(rec.subject))
        by_tensor[id(rec.out)] = v
        by_array.setdefault(id(rec.out.data), v)
        steps.append(v)
    output = tensor_value(trace.output)
    grads = []
    for t in tensor_inputs:
        g = trace.grads.get(t) if t.requires_grad else None
        grads.append(None if g is None else tensor_value(g))
    for t, g in trace.grads.items():  # name each gradient after its value: d_h, d_weight
        gv, tv = by_tensor.get(id(g)), by_tensor.get(id(t))
        if gv is not None and tv is not None and gv.kind == "op" and gv.grad_of is None:
            gv.grad_of = tv
    rules = {id(v.op): v for v in steps if v.phase == "forward"}
    for v in steps:
        if v.rule is not None:
            v.rule = rules.get(id(v.rule))  # the forward value whose backward rule made it
    return Program(inputs, seed, steps, output, grads)


def _check_mask(v, line, name):
    """Indexing with a boolean mask that is not a constant gives a result whose shape depends
    on the values (how many are True): a replay would assume the traced shape. Refuse it."""
    from .compiler_trace import CompileError

    idx = v.params["idx"]
    for item in idx if isinstance(idx, tuple) else (idx,):
        if isinstance(item, Value) and item.dtype == np.bool_ and item.kind != "const":
            raise CompileError(
                f"tg.compile({name}): indexing with a boolean mask computed in the function or passed "
                f"to it, at {line}: the result's shape depends on how many entries are True, and a "
                f"replay would assume the traced shape {v.shape}. Use tg.where(mask, x, 0.0) instead, "
                f"or do the indexing outside the compiled function.")
