"""``tg.compile(fn)``: trace a training step once, replay it as straight-line numpy code.

On a small model the eager engine's time is Python, not arithmetic: every op builds a node
and every node is visited by the backward walk, about a microsecond each, against a third
of that for numpy's own call. Real systems (JAX's ``jit``, tinygrad's ``TinyJit``,
``torch.compile`` with AOTAutograd) trace once and replay; so does this, readably:

    fast_loss = tg.compile(lambda X, y: nn.mse_loss(model(X), y))
    loss = fast_loss(X, y)      # the first call traces; later calls replay
    loss.backward()             # fills .grad of every parameter the function read
    print(fast_loss.source)     # the forward and backward program as plain numpy code

How it works, in four steps (the modules ``compiler_*.py``):

1. *Trace* (``compiler_trace``): run the function once, eagerly, with a tracer that sees every
   primitive op, then run the engine's own backward walk the way ``create_graph=True``
   does, so the backward pass is recorded as primitives too. No derivative is written twice.
2. *Build and optimise* (``compiler_program``, ``compiler_passes``): one value per op; fold
   constants, simplify, share common subexpressions, drop dead code.
3. *Write the code* (``compiler_codegen``): a ``forward`` and a ``backward`` function, one numpy
   call per line, reusing dead buffers. That text is ``.source``, and it is what runs.
4. *Replay* (here): each call checks that the trace still applies (*guards*, ``compiler_guard``:
   the arguments' shapes, dtypes and requires_grad, the tensors found where the function
   found them) and runs ``forward``; the result is one node of the graph, a ``Compiled`` op
   whose backward rule runs ``backward``. So ``loss.backward()`` fills ``.grad`` exactly as
   eager would. ``compiler_draw`` draws a compiled call opened up, and the program itself.
"""
from __future__ import annotations

import builtins
import linecache
import warnings

import numpy as np

from . import compiler_codegen, compiler_passes, compiler_program, modes, ops
from .compiler_guard import arg_key, externals, input_names, input_order, write_guard
from .compiler_trace import CompileError, find_paths, roots_of, run_traced
from .modes import per_thread
from .tensor import Tensor, check_unmodified, initial_gradient

__all__ = ["compile", "CompiledFunction", "CompileError"]

PASS_NAMES = ("fold", "simplify", "cse", "dce", "reuse")
RETRACE_WARNING = 8  # traces of one function after which a warning says they do not pay off


def compile(fn=None, *, optimize=True, name=None):  # noqa: A001 - tg.compile, like torch.compile
    """Compile ``fn``: the first call traces it, later calls replay the traced program.

    ``fn`` takes tensors (and numpy arrays and plain Python values) and returns one Tensor,
    typically a loss. Its parameters are found where ``fn`` reads them (closure, defaults,
    globals, a module's attributes) and read afresh on every call, so ``opt.step()`` and
    ``load_state_dict`` between calls are seen.

    ``optimize`` is True (every pass), False (none) or a dict such as ``{"reuse": False}``
    (a pass left out stays on). The passes: ``fold`` (constants), ``simplify`` (exact
    peephole rewrites), ``cse`` (common subexpressions), ``dce`` (dead code), ``reuse``
    (write results into dead buffers, free large values early).
    ``name`` names the op in pictures (default: the function's name). Usable as a
    decorator, ``@tg.compile`` or ``@tg.compile(optimize=False)``.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, optimize=optimize, name=name)
    return CompiledFunction(fn, optimize=optimize, name=name)


def _passes(optimize):
    if optimize is True or optimize is False:
        return {k: optimize for k in PASS_NAMES}
    if not isinstance(optimize, dict):
        raise TypeError(f"tg.compile: optimize must be True, False or a dict such as "
                        f"{{'reuse': False}}, got {type(optimize).__name__}")
    unknown = [k for k in optimize if k not in PASS_NAMES]
    if unknown:
        raise ValueError(f"tg.compile: unknown pass(es) {unknown} in optimize; the passes are "
                         f"{list(PASS_NAMES)}")
    return {k: bool(optimize.get(k, True)) for k in PASS_NAMES}


class CompiledFunction:
    """What ``tg.compile(fn)`` returns: call it like ``fn``. ``.traces`` counts the traces made,
    ``.source`` is the code of the latest, ``.fn`` is the function itself (uncompiled)."""

    def __init__(self, fn, optimize=True, name=None):
        if not callable(fn):
            raise TypeError(f"tg.compile: expected a function, got {type(fn).__name__}")
        self.fn = fn
        self.passes = _passes(optimize)
        default = getattr(fn, "__name__", type(fn).__name__)
        self.name = name or (default if default.isidentifier() else "compiled")
        self.entries = {}  # key -> [Entry, ...]
        self.latest = None
        self.traces = 0

    @property
    def source(self):
        """The latest trace's program as Python (run ``fast(...)`` once first)."""
        if self.latest is None:
            raise RuntimeError(f"tg.compile({self.name}).source: nothing is traced yet; call the "
                               f"compiled function once first")
        return self.latest.source

    def draw(self, rankdir="TB"):
        """A picture of the latest trace's program: every line of ``forward`` and ``backward``
        as a box, the values each line reads as arrows (a Graphviz drawing, like draw_graph)."""
        if self.latest is None:
            raise RuntimeError(f"tg.compile({self.name}).draw(): nothing is traced yet; call the "
                               f"compiled function once first")
        return self.latest.draw(rankdir)

    def __repr__(self):
        return f"<tg.compile({self.name}): {self.traces} trace(s)>"

    def __call__(self, *args, **kwargs):
        state = per_thread.modes
        if state.tracer is not None or state.anomaly:  # inside another trace: be part of it;
            return self.fn(*args, **kwargs)  # in detect_anomaly(): run eagerly, so the op is named
        key = (state.grad_enabled, tuple(map(arg_key, args)),
               tuple((k, arg_key(v)) for k, v in sorted(kwargs.items())) if kwargs else ())
        for entry in self.entries.get(key, ()):
            found = entry.guard(self.fn, args, kwargs)
            if found is not None:
                return entry.run(*found)
        entry = self._trace(args, kwargs, state.grad_enabled)
        self.entries.setdefault(key, []).append(entry)
        if self.traces == RETRACE_WARNING:
            warnings.warn(f"tg.compile({self.name}) has traced the function {self.traces} times: its calls "
                          f"keep differing from the traces (the shapes, dtypes or requires_grad of the "
                          f"tensors, the numbers given, or the parameters it reads), so each is traced "
                          f"again; compiling it may not pay off", RuntimeWarning, stacklevel=2)
        found, entry.first_call = entry.first_call, None  # the inputs the trace found: no guard
        return entry.run(*found)

    def _trace(self, args, kwargs, grad_enabled):
        arrays = [(("arg", i), a) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
        arrays += [(("kwarg", k), v) for k, v in sorted(kwargs.items()) if isinstance(v, np.ndarray)]
        trace = run_traced(self.fn, args, kwargs, self.name, differentiate=grad_enabled)
        found = externals(trace)
        paths = find_paths(roots_of(self.fn, args, kwargs), found)
        inputs = [t for t in found if id(t) in paths or t.requires_grad]
        inputs.sort(key=lambda t: input_order(paths.get(id(t))))
        program = compiler_program.build(trace, inputs, [a for _, a in arrays])
        traced = ([(v, type(v.op), v.params, v.args) for v in program.steps if v.phase == "forward"],
                  program.output)  # before the passes: what draw_graph(expand=True) replays
        for p in ("fold", "simplify", "cse", "dce"):
            if self.passes[p]:
                compiler_passes.PASSES[p](program)
        names = input_names(self.fn, inputs, paths, arrays)
        self.traces += 1
        entry = Entry(self, program, inputs, paths, arrays, names, trace.seed is not None,
                      (self.fn, args, kwargs))
        entry.traced_forward, entry.traced_output = traced
        self.latest = entry
        return entry


class Entry:
    """One trace of a compiled function: its guard, its code and its two functions.
    ``first_call`` holds the inputs of the traced call (tensors, arrays) until it has run."""

    def __init__(self, owner, program, inputs, paths, arrays, names, differentiable, call):
        self.name = owner.name
        self.program = program
        self.differentiable = differentiable
        source, extras, facts = compiler_codegen.write(
            program, f"tg.compile({owner.name})", names, reuse=owner.passes["reuse"])
        self.source, self.extras, self.facts = source, extras, facts
        self.guard_source, self.guard_consts = write_guard(inputs, paths, arrays, program, call)
        self.first_call = (tuple(inputs), tuple(a for _, a in arrays))
        self.filename = f"<tg.compile {owner.name} #{owner.traces}>"
        namespace = self._exec(source, self.filename, extras)
        self.forward, self.backward = namespace["forward"], namespace.get("backward")
        for v in program.inputs + program.steps + program.consts() + [program.seed] * (program.seed is not None):
            v.tensor = None  # the trace's tensors are not needed any more: let them go
            if v.kind != "const":
                v.array = None
            for op in (v.op, v.rule):  # nor is the traced graph behind its ops (their params stay)
                if op is not None and hasattr(op, "parents"):
                    op.parents = op.versions = None

    @staticmethod
    def _exec(text, filename, namespace):
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)  # for tracebacks
        namespace = {"__name__": "tinygrad_edu.compiled", **namespace}
        exec(builtins.compile(text, filename, "exec"), namespace)  # noqa: S102 - our own code
        return namespace

    def guard(self, fn, args, kwargs):
        """``(tensors, arrays)`` of this call if the trace applies to it, else None. The guard's
        code is compiled on its first use (the traced call itself needs none)."""
        namespace = self._exec(self.guard_source, self.filename + " guard",
                               {"K": self.guard_consts, "Tensor": Tensor, "np": np})
        self.guard = namespace["guard"]  # from now on, the compiled function itself
        return self.guard(fn, args, kwargs)

    def draw(self, rankdir="TB"):
        """A picture of this program (see ``compiler_draw.draw_program``)."""
        from .compiler_draw import draw_program
        return draw_program(self, rankdir)

    def run(self, tensors, arrays):
        """One replay: the result as a Tensor made by one ``Compiled`` op."""
        if not self.differentiable:
            out, _ = self.forward(*[t.data for t in tensors], *arrays)
            return Tensor.wrap(out if type(out) is np.ndarray else np.asarray(out))
        return Compiled.apply(*tensors, entry=self, arrays_in=arrays)


class Compiled(ops.Op):
    """One call of a compiled function: a single node of the graph, named after the function.

    Its parents are the tensors the function read (its tensor arguments, then the tensors
    it found, such as the model's parameters). ``forward`` runs the traced forward program
    and keeps what the backward program needs; ``backward`` runs the traced backward program
    and returns one gradient per parent (None for those that do not require grad).
    """

    @classmethod
    def apply(cls, *inputs, entry, arrays_in=()):
        """``Op.apply`` for a compiled call: run the forward program and record one node.

        A trace with a backward program was made with grad mode on and an input requiring
        grad, and the guards checked that this call is the same, so the node is always
        recorded; the result is a ``CompiledResult``, a Tensor with a short cut in backward().
        """
        op = cls()
        try:
            data = op.forward(*[t.data for t in inputs], entry=entry, arrays_in=arrays_in)
        except (ValueError, IndexError, TypeError, FloatingPointError) as e:
            raise type(e)(op.explain(inputs, e)) from None
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        state = per_thread.modes
        if state.anomaly:
            modes.check_finite(data, op, inputs)
        out = CompiledResult.wrap(data, op, True)
        op.parents, op.scope = inputs, state.scope
        op.versions = [x.version for x in inputs]
        return out

    def forward(self, *arrays, entry, arrays_in=()):
        """Run the traced forward program on the parents' arrays (and the array arguments);
        keep what the backward program will need (``self.saved``)."""
        self.entry, self.name, self.arrays_in = entry, entry.name, arrays_in
        out, self.saved = entry.forward(*arrays, *arrays_in)
        return out

    def backward(self, g, z, *inputs):
        """Run the traced backward program: one gradient per parent (None where not needed).
        It runs on arrays, so a backward pass that is being recorded is refused."""
        if per_thread.modes.grad_enabled:
            raise CompileError(
                f"tg.compile({self.name}): the backward pass through a compiled call cannot be "
                f"recorded (backward(create_graph=True), or tg.grad of a function that reads "
                f"tensors from outside): the compiled backward program runs on numpy arrays. For "
                f"higher-order derivatives call the function itself, uncompiled (.fn).")
        wrap = Tensor.wrap
        return [None if a is None else wrap(a) for a in self.entry.backward(g.data, *self.saved)]

    def explain(self, inputs, err):
        """The error message when replaying fails (``Op.apply`` calls it)."""
        shapes = ", ".join(str(t.shape) for t in inputs)
        return (f"tg.compile({self.name}): replaying the traced program on inputs of shapes {shapes} "
                f"failed: {err}")


class CompiledResult(Tensor):
    """The Tensor a compiled call returns. Everything is a Tensor's; only ``backward()`` takes
    a short cut when this tensor's graph is the compiled call alone (its inputs that require
    grad are leaves, such as parameters): then the engine's walk has a single node to visit,
    and running the backward program and adding its gradients to ``.grad`` is all it would
    do. Otherwise (create_graph, anomaly mode, a graph before the call) it is the general walk.
    """

    __slots__ = ()

    def backward(self, gradient=None, create_graph=False):
        """``Tensor.backward``, with the short cut described in the class's docstring."""
        op = self.op
        if (create_graph or type(op) is not Compiled or per_thread.modes.anomaly or not self.requires_grad
                or any(p.requires_grad and p.op is not None for p in op.parents)):
            return Tensor.backward(self, gradient, create_graph)
        data = self.data
        if gradient is None and data.size == 1:  # the usual loss.backward(): a seed of one
            seed = np.ones(data.shape, dtype=data.dtype)
        else:
            seed = initial_gradient(self, gradient, "backward()").data
        for x, seen in zip(op.parents, op.versions):
            if x.version != seen:  # changed in place since the forward: the walk's error
                check_unmodified((self,))
        grads = op.entry.backward(seed, *op.saved)
        for p, g in zip(op.parents, grads):
            if g is None or not p.requires_grad:
                continue
            if p.grad is None:
                p.grad = Tensor.wrap(g)
            else:  # accumulate, as the walk does (p.grad + g, recording nothing)
                total = p.grad.data + g
                p.grad = Tensor.wrap(total if type(total) is np.ndarray else np.asarray(total))
