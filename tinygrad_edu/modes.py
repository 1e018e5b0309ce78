"""The engine's modes: grad mode, anomaly mode and the composite/module scope.

These are the only state of the engine besides the random generator, and they are kept
*per thread*, as PyTorch keeps its grad mode: a ``no_grad`` block in one thread does not
stop another thread from recording its graph.

Every context manager here is *re-entrant*: it saves the previous state on a per-thread
stack, not on itself, so one instance may be entered twice (nested) and a function
decorated with ``@no_grad()`` may call itself, and an exception inside the block still
restores the state that was there before.

    with tg.no_grad():          # nothing inside records a graph
        y = model(X)

    @tg.no_grad()               # the same, as a decorator
    def evaluate(model, X): ...
"""
from __future__ import annotations

import contextlib
import functools
import sys
import threading

import numpy as np


class Modes:
    """The modes of one thread; a new thread starts with these defaults."""

    __slots__ = ("grad_enabled", "anomaly", "scope", "saved", "tracer")

    def __init__(self):
        self.grad_enabled = True  # do ops record the graph?
        self.anomaly = False  # do ops check their outputs for nan/inf?
        self.scope = ()  # the composite/module calls running now, outermost first
        self.saved = []  # the states that the open context managers will restore
        self.tracer = None  # tg.compile's tracer while it traces a function, else None


class _PerThread(threading.local):
    def __init__(self):
        self.modes = Modes()


per_thread = _PerThread()  # per_thread.modes: the calling thread's Modes


class _SetMode(contextlib.ContextDecorator):
    """Sets one mode for the duration of a ``with`` block (or of a decorated call)."""

    attribute, value = "", None

    def __enter__(self):
        modes = per_thread.modes
        modes.saved.append(getattr(modes, self.attribute))
        setattr(modes, self.attribute, self.value)
        return self

    def __exit__(self, *exc):
        modes = per_thread.modes
        setattr(modes, self.attribute, modes.saved.pop())
        return False


class no_grad(_SetMode):
    """Context manager and decorator: nothing computed inside records a graph.

    Use it for evaluation and for updates to parameters: it saves the memory and time of
    recording. Per thread and re-entrant, like ``torch.no_grad``.
    """

    attribute, value = "grad_enabled", False


class enable_grad(_SetMode):
    """Context manager and decorator: ops record a graph again (inside a ``no_grad``)."""

    attribute, value = "grad_enabled", True


class set_grad_enabled(_SetMode):
    """``with set_grad_enabled(flag):`` records a graph inside exactly when ``flag`` is true."""

    attribute = "grad_enabled"

    def __init__(self, mode):
        self.value = bool(mode)


class detect_anomaly(_SetMode):
    """Inside this context the first op that produces a nan or inf raises ``FloatingPointError``.

    The error names the op and the composite or module it ran in; during ``backward()`` it
    also names the op whose backward rule was running, so a training run that blows up
    points at its cause. It costs one ``np.isfinite`` per op: leave it off when not debugging.
    """

    attribute, value = "anomaly", True


def is_grad_enabled() -> bool:
    """Do ops record the graph right now (in this thread)?"""
    return per_thread.modes.grad_enabled


def is_anomaly_enabled() -> bool:
    """Is ``detect_anomaly`` on (in this thread)?"""
    return per_thread.modes.anomaly


def check_finite(data, op, inputs):
    """detect_anomaly: the first op that makes a nan or inf raises, naming itself, the
    composite or module it ran in and, during backward(), the rule that was running."""
    if data.dtype.kind != "f" or np.isfinite(data).all():
        return
    bad = "nan" if np.isnan(data).any() else "inf"
    where = "".join(f", inside {s.name}" for s in reversed(per_thread.modes.scope))
    rule = next((f.f_locals["self"] for f in _frames() if f.f_code.co_name == "backward"
                 and hasattr(f.f_locals.get("self"), "parents")), None)
    during = ""
    if rule is not None:
        during = f", while running the backward rule of '{rule.name}'" + "".join(
            f" (inside {s.name})" for s in reversed(rule.scope or ()))
    raise FloatingPointError(f"detect_anomaly: the output of op '{op.name}' (input shapes "
                             f"{[t.shape for t in inputs]}{where}) contains {bad}{during}")


def _frames():
    frame = sys._getframe(2)
    while frame is not None:
        yield frame
        frame = frame.f_back


def refuse_while_tracing(what):
    """Called where a tensor's value leaves the graph (``.item()``, ``float()``, ``bool()``,
    ``.numpy()``, ...): a function being traced by ``tg.compile`` must not read values, since
    a replay could not repeat what Python did with them. The tracer raises the error."""
    tracer = per_thread.modes.tracer
    if tracer is not None:
        tracer.refuse(what)


def current_scope():
    """The composite and module calls running now in this thread, outermost first."""
    return per_thread.modes.scope


class Scope:
    """One call of a composite function (``relu``) or of a module (``Linear``).

    Every op recorded during the call keeps the tuple of scopes it ran in (``op.scope``),
    outermost first, so that ``draw_graph`` can collapse a composite into one node or draw
    a module as a cluster. As a context manager it is the innermost scope while the block
    runs; ``nn.Module.__call__`` does ``with Scope(name, "module", self, args):``.
    """

    __slots__ = ("name", "kind", "obj", "inputs", "__weakref__")

    def __init__(self, name, kind="composite", obj=None, inputs=()):
        self.name, self.kind, self.obj = name, kind, obj  # obj: the module, for a module call
        self.inputs = inputs  # the call's arguments (pictures show the tensors among them)

    def __enter__(self):
        modes = per_thread.modes
        modes.saved.append(modes.scope)
        modes.scope = modes.scope + (self,)
        return self

    def __exit__(self, *exc):
        modes = per_thread.modes
        modes.scope = modes.saved.pop()
        return False

    def __repr__(self):
        return f"Scope({self.name!r}, {self.kind!r})"


def composite(fn):
    """Mark a function as a composite op: built from primitives, drawn as one node.

    Its gradient needs nothing extra: the primitives it calls record themselves, and the
    chain rule does the rest. The decorator only names the call for ``draw_graph``.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        modes = per_thread.modes
        if not modes.grad_enabled:  # nothing is recorded, so there is nothing to name
            return fn(*args, **kwargs)
        outer = modes.scope  # (the same as ``with Scope(...)``, spelled out: it runs on every call)
        modes.scope = outer + (Scope(fn.__name__, "composite", None, args),)
        try:
            return fn(*args, **kwargs)
        finally:
            modes.scope = outer

    return wrapper
