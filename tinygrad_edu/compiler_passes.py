"""The passes of ``tg.compile``: rewrite a traced program as a compiler would, exactly.

Each pass takes a ``Program`` (``compiler_program``) and changes it in place:

* ``fold``: an op whose inputs are all constants is a constant (its value is known from
  the trace), and an op that gives back its input unchanged (a transpose of a transpose,
  a reshape to the same shape, a detach) is replaced by that input;
* ``simplify``: exact peephole rewrites: ``x + y·(−1)`` (how the engine subtracts) is
  ``x − y``, one numpy call instead of two; ``x·1`` is ``x``; an ``expand`` whose value an
  elementwise op would broadcast anyway is skipped; a scatter whose index picks every
  place once is an assignment; a large ``where(c, 0, y)`` (ReLU) is ``where(not c, y, 0)``,
  which the engine's select does in fewer passes;
* ``cse``: an op computed twice on the same values (the two ``g·d`` of ``d·d``'s backward
  rule) is computed once;
* ``dce``: an op whose value neither the result nor a gradient needs is dropped.

The fifth, *buffer reuse* (``plan``), decides where each result of one function can live,
as a register allocator would: in straight-line code every local variable lives until the
function returns, so without it a compiled step would hold every intermediate array at
once. When an elementwise op (a numpy ufunc, which takes ``out=``) reads a value that dies
at that line, owns its memory, and has the result's shape, dtype and layout, the result is
written into it (as ``t += b`` writes into ``t``; the layout must match so that later
matrix products see the memory order of the eager run and compute the same numbers); and
a large value is ``del``-eted right after its last use. A view (a transpose, a reshape, an
index) lives in the memory of what it views. Inputs, constants and the values a function
hands back are never written into. ``compiler_codegen`` applies the plan as it writes.

No pass reorders or re-associates arithmetic: the numbers stay those of the eager engine.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .compiler_program import VIEW_OPS, Value, map_params, params_values

FOLD_MAX_BYTES = 4096  # a folded constant bigger than this (and than its inputs) is recomputed


def fold(program):
    """Constant folding: an op on constants only becomes a constant, its value known from
    the trace. Also an op that returns its input unchanged (same numbers, same layout)
    becomes that input: detach, a reshape/expand/cast to what it already is, a transpose
    undone by another. Returns how many ops it removed."""
    removed = 0
    for v in program.steps:
        deps = v.deps()
        if deps and all(d.kind == "const" for d in deps) and (
                v.array.nbytes <= max(FOLD_MAX_BYTES, *(d.array.nbytes for d in deps))):
            v.kind, v.array = "const", np.array(v.array, copy=True)
            v.args, v.params, v.refs = (), None, ()
            removed += 1
            continue
        same = unchanged_input(v)
        if same is not None:
            v.same, program.dirty = same, True
            removed += 1
    program.resolve()
    program.stats["fold"] = removed
    return program


def unchanged_input(v):
    """The input that ``v`` merely gives back (same numbers and layout), or None."""
    kind = type(v.op)
    if kind not in (ops.Detach, ops.Reshape, ops.Expand, ops.Cast, ops.Transpose):
        return None
    x = v.args[0]
    while x.same is not None:
        x = x.same
    if kind is ops.Transpose:
        axes = v.params["axes"]
        if axes != tuple(range(len(axes))):
            inner = x
            if not (inner.kind == "op" and type(inner.op) is ops.Transpose):
                return None
            composed = tuple(inner.params["axes"][a] for a in axes)
            if composed != tuple(range(len(composed))):
                return None
            x = inner.args[0]
            while x.same is not None:
                x = x.same
    same_layout = x.shape == v.shape and x.dtype == v.dtype and x.strides == v.strides
    return x if kind is ops.Detach or same_layout else None


def cse(program):
    """Common-subexpression elimination: the same op on the same values with the same
    parameters is computed once; equal small constants become one. Returns the count."""
    seen, removed = {}, 0
    consts = {}
    for c in program.consts():
        if c.size <= 64:
            key = (c.dtype.str, c.shape, c.array.tobytes())
            if key in consts:
                c.same, program.dirty = consts[key], True
            else:
                consts[key] = c
    program.resolve()
    for v in program.steps:
        # an input merged a moment ago is replaced now, so that what is computed from it
        # twice is found too (the two g·x of x·x, once the two x are one)
        v.args = tuple(a.same if a.same is not None else a for a in v.args)
        if v.refs:
            v.params = map_params(v.params, lambda a: a.same if a.same is not None else a)
            v.refs = tuple(params_values(v.params))
        pkey = params_key(v.params) if v.params else ()
        if pkey is None:  # a parameter it cannot compare safely: leave the op alone
            continue
        key = (type(v.op), tuple(id(a) for a in v.args), pkey)
        if key in seen:
            v.same, program.dirty = seen[key], True
            removed += 1
        else:
            seen[key] = v
    program.resolve()
    program.stats["cse"] = removed
    return program


_PLAIN = (int, float, bool, str, type(None), type(Ellipsis), np.integer, np.floating, np.bool_)


def params_key(obj):
    """A hashable key for a params structure (Values by identity), or None if it holds
    something that cannot be compared safely."""
    if isinstance(obj, Value):
        return ("value", id(obj))
    if isinstance(obj, _PLAIN):
        return (type(obj).__name__, obj)
    if isinstance(obj, np.dtype):
        return ("dtype", obj.str)
    if isinstance(obj, slice):
        parts = (params_key(obj.start), params_key(obj.stop), params_key(obj.step))
        return None if None in parts else ("slice",) + parts
    items = list(obj.items()) if isinstance(obj, dict) else list(enumerate(obj)) \
        if isinstance(obj, tuple | list) else None
    if items is None:
        return None
    keys = tuple((k, params_key(v)) for k, v in items)
    return None if any(k[1] is None for k in keys) else (type(obj).__name__,) + keys


def dce(program):
    """Dead-code elimination: keep only the ops that the result or a gradient needs."""
    live = {id(v) for v in program.results()}
    kept = []
    for v in reversed(program.steps):
        if id(v) in live:
            kept.append(v)
            live.update(id(d) for d in v.deps())
    program.stats["dce"] = len(program.steps) - len(kept)
    program.steps = kept[::-1]
    return program


class Subtract:
    """x − y: a step of the compiled program, not an engine op (the engine's ``sub`` is the
    composite x + y·(−1), the same numbers: negating is exact, and x − y is x + (−y))."""

    name = "subtract"

    def forward(self, x, y):
        """x − y, as the line ``x - y`` computes it."""
        return x - y


ELEMENTWISE = (ops.Add, ops.Mul, ops.Div, ops.Pow, ops.Maximum, ops.Where, ops.Comparison, Subtract)


def simplify(program):
    """Exact peephole rewrites: ``x + y·(−1)`` becomes ``x − y``; ``x·1`` becomes ``x``; an
    ``expand`` feeding an elementwise op whose broadcasting gives the same shape anyway is
    skipped; a scatter that picks each place once becomes an assignment; a large
    ``where(c, 0.0, y)`` becomes ``where(not c, y, 0.0)``. Returns the number of rewrites;
    the ops they leave unused are removed by ``dce``."""
    users = {}
    for v in program.steps:
        for d in v.deps():
            users.setdefault(id(d), []).append(v)
    results = {id(v) for v in program.results()}
    count, new_steps = 0, []
    for v in program.steps:
        if type(v.op) is ops.Add:
            for i in (1, 0):
                m, a = v.args[i], v.args[1 - i]
                if (_negation_of(m) is not None and len(users.get(id(m), ())) == 1
                        and id(m) not in results and m.phase == v.phase):
                    b = _negation_of(m)
                    if np.result_type(a.dtype, b.dtype) == v.dtype and m.dtype == b.dtype:
                        v.op, v.args = Subtract(), (a, b)
                        count += 1
                        break
        if isinstance(v.op, ELEMENTWISE) or type(v.op) is ops.ScatterAdd:
            args = list(v.args)
            for i, e in enumerate(args):
                if e.kind == "op" and type(e.op) is ops.Expand:
                    x = e.args[0]
                    rest = [o.shape for j, o in enumerate(args) if j != i]
                    if type(v.op) is ops.ScatterAdd:  # the value is broadcast to the indexed places
                        ok = _broadcasts_to(x.shape, e.shape)
                    else:
                        ok = np.broadcast_shapes(x.shape, *rest) == v.shape
                    if ok:
                        args[i] = x
                        count += 1
            v.args = tuple(args)
        if type(v.op) is ops.Mul and id(v) not in results:  # x·1 is x, exactly
            for i in (1, 0):
                c, x = v.args[i], v.args[1 - i]
                if (c.kind == "const" and c.shape == () and float(c.array) == 1.0 and x.kind != "const"
                        and (x.shape, x.dtype, x.strides) == (v.shape, v.dtype, v.strides)):
                    v.same, program.dirty = x, True
                    count += 1
                    break
        if type(v.op) is ops.ScatterAdd and not _picks_once(v.params["idx"], v.params["shape"]):
            v.hint = None
        elif type(v.op) is ops.ScatterAdd:
            v.hint = "assign"  # each place picked once: out[idx] = g is the same sum as np.add.at
            count += 1
        if type(v.op) is ops.Where and _zero_first(v):
            cond, zero, y = v.args
            flipped = Value("op", np.logical_not(cond.array), phase=cond.phase)
            flipped.op, flipped.args, flipped.scope = Not(), (cond,), cond.scope
            v.args = (flipped, y, zero)
            new_steps.append(flipped)
            count += 1
        new_steps.append(v)
    program.steps = new_steps
    program.resolve()
    program.stats["simplify"] = count
    return program


class Not:
    """not c, of a boolean mask: a step of the compiled program, not an engine op."""

    name = "not"

    def forward(self, c):
        """``~c``, as the line computes it."""
        return ~c


SELECT_MIN = 4096  # from this size on, speed.select works on the bits instead of branching


def _zero_first(v):
    """Is ``v`` a large ``where(c, 0.0, y)`` (as in ReLU)? It is the same as ``where(not c, y,
    0.0)``, which the engine's select computes in two passes over the array instead of four
    (a bit mask and y & mask); the ``not c`` is a pass over the small boolean mask, made once
    and shared by every select on that mask (cse)."""
    cond, x, y = v.args
    return (x.kind == "const" and x.shape == () and x.dtype == y.dtype == v.dtype
            and v.dtype.kind == "f" and not np.signbit(x.array) and float(x.array) == 0.0
            and v.size >= SELECT_MIN and cond.kind != "const" and cond.array is not None)


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _picks_once(idx, shape):
    """Does an advanced index pick every place at most once, whatever the values of its
    other arrays? Yes when one of its arrays is a constant of distinct, non-negative,
    in-range integers that has the shape of all the index arrays broadcast together (as
    ``np.arange(n)`` in cross_entropy's ``logp[np.arange(n), labels]``)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    arrays = [(axis, i) for axis, i in enumerate(items) if isinstance(i, Value)]
    if not arrays or any(i is Ellipsis or i is None for i in items):
        return False
    try:
        full = np.broadcast_shapes(*[i.shape for _, i in arrays])
    except ValueError:
        return False
    for axis, i in arrays:
        a = i.array if i.kind == "const" else None
        if (a is not None and a.dtype.kind in "iu" and a.shape == full and a.ndim == 1
                and axis < len(shape) and _distinct(a)
                and (a.size == 0 or (a.min() >= 0 and a.max() < shape[axis]))):
            return True
    return False


def _distinct(a):
    s = np.sort(a, axis=None)
    return bool((s[1:] != s[:-1]).all())


def _negation_of(m):
    """``y`` if ``m`` is y·(−1) (as the engine's sub and neg compute it), else None."""
    if m.kind != "op" or type(m.op) is not ops.Mul:
        return None
    y, c = m.args
    if c.kind == "const" and c.shape == () and float(c.array) == -1.0 and y.kind != "const":
        return y
    return None


PASSES = {"fold": fold, "simplify": simplify, "cse": cse, "dce": dce}


# ---------------------------------------------------------------------------------------
# Buffer reuse: planned here, applied by compiler_codegen while it writes the code.
# ---------------------------------------------------------------------------------------
def plan(steps, pinned, out_ops, fresh_ops, del_min):
    """Plan memory for one function of ``steps`` (op Values, in order).

    ``pinned``: ids of the values the function hands back. ``out_ops``: op types that can
    write into a given buffer; ``fresh_ops``: op types whose result owns new memory.
    ``del_min``: values with fewer elements are not worth a ``del`` line.
    Returns ``(outs, dels)``: ``outs[id(v)]`` is the dead value whose buffer ``v`` is written
    into; ``dels[i]`` lists the values to ``del`` after line ``i``.
    """
    last = {}  # id(value) -> the last line that reads it
    for i, v in enumerate(steps):
        for d in v.deps():
            last[id(d)] = i
    owners = {}  # id(value) -> the values whose memory it lives in
    for v in steps:
        kind = type(v.op)
        if kind in fresh_ops:
            owners[id(v)] = {v}
        else:  # a view lives in its input's memory; an unknown op may be a view of any input
            found = set()
            for d in (v.args if kind in VIEW_OPS else v.deps()):
                found |= owners.get(id(d), set())
            owners[id(v)] = found
    buffer_last, buffer_pinned, dies = {}, set(), {}
    for v in steps:
        for b in owners[id(v)]:  # a buffer dies when the last value living in it dies
            buffer_last[id(b)] = max(buffer_last.get(id(b), -1), last.get(id(v), -1))
            if id(v) in pinned:
                buffer_pinned.add(id(b))
        if id(v) not in pinned and id(v) in last:
            dies.setdefault(last[id(v)], []).append(v)
    outs, dels, recycled = {}, {}, set()
    large = any(v.size >= del_min for v in steps)
    for i, v in enumerate(steps):
        if type(v.op) in out_ops and v.shape != ():
            candidates = [b for a in v.args for b in owners.get(id(a), ())]
            out = next((b for b in candidates if id(b) not in recycled and id(b) not in buffer_pinned
                        and buffer_last[id(b)] == i
                        and (b.shape, b.dtype, b.strides) == (v.shape, v.dtype, v.strides)), None)
            if out is not None:
                recycled.add(id(out))
                outs[id(v)] = out
        if large:
            dead = [w for w in dies.get(i, ()) if id(w) not in recycled
                    and any(b.size >= del_min for b in owners[id(w)])]
            if dead:
                dels[i] = dead
    return outs, dels
