"""Names in pictures: how a value, an op and a number are named where they are drawn.

A value is named by ``params``, else by its ``label``, else by what computed it when that
is short (``derive_name``: ``z > 0``, ``X@W1ᵀ``, ``(ŷ − y)²``), else ``t1``, ``t2``, ... by
``Picture``. An op's ellipse shows its name and the arguments the picture cannot show.
"""
from __future__ import annotations

import numpy as np

LONGEST_NAME = 16  # a derived name longer than this becomes t1, t2, ...


def number_text(v):
    """One number as a picture prints it: 4 significant digits, T/F for booleans."""
    if isinstance(v, bool | np.bool_):
        return "T" if v else "F"
    s = f"{float(v):.4g}"
    return "0" if s == "-0" else s


def param_names(params, where):
    """Map id(tensor) -> name from a dict, a module, or (name, tensor) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if isinstance(params, dict) else params
    names = {}
    for name, t in items:
        if not isinstance(name, str):
            raise TypeError(f"{where}: the names in params must be strings, got {name!r} "
                            f"({type(name).__name__}) for a tensor of shape {getattr(t, 'shape', '?')}")
        names[id(t)] = name
    return names


def check_label(t, where):
    """A tensor's label, which must be a string (or None) to be drawn."""
    if t.label is not None and not isinstance(t.label, str):
        raise TypeError(f"{where}: a tensor's label must be a string, got {t.label!r} "
                        f"({type(t.label).__name__}) on a tensor of shape {t.shape}; "
                        f"set t.label = str(...) or leave it None")
    return t.label


def wrap(name):
    """Parentheses around a compound name used inside another: (ŷ − y)², ∂loss/∂(ŷ − y)."""
    depth = 0
    for c in name:
        depth += (c == "(") - (c == ")")
        if depth == 0 and c in " +−-·/@<>=!":
            return f"({name})"
    return name


def derive_name(op, parents, parent_names):
    """A short name for the result of ``op`` from its inputs' names, or None."""
    if any(n is None for n in parent_names):
        return None
    n = op.name
    a = parent_names[0]
    b = parent_names[1] if len(parent_names) > 1 else None
    if hasattr(op, "symbol"):
        return f"{a} {op.symbol} {b}"
    if n == "add":
        return f"{a} − {b[1:]}" if b.startswith("−") or b.startswith("-") else f"{a} + {b}"
    if n == "mul":
        if parents[0] is parents[1]:
            return f"{wrap(a)}²"
        if parents[1].op is None and parents[1].size == 1 and parents[1].label is None:
            return f"{b}·{wrap(a)}"
        return f"{wrap(a)}·{wrap(b)}"
    if n == "div":
        return f"{wrap(a)}/{wrap(b)}"
    if n == "pow":
        return f"{wrap(a)}²" if b == "2" else f"{wrap(a)}^{wrap(b)}"
    if n in ("exp", "log"):
        return f"{n}({a})"
    if n == "maximum":
        return f"max({a}, {b})"
    if n == "sum" and getattr(op, "axis", None) is None:
        return f"Σ{wrap(a)}"
    if n == "transpose" and parents[0].ndim == 2:
        return f"{wrap(a)}ᵀ"
    if n == "matmul":
        return f"{wrap(a)}@{wrap(b)}"
    return None


def op_label(op):
    """An op's name as its ellipse shows it, with the arguments the picture does not show."""
    name = op.name
    if hasattr(op, "symbol"):  # a comparison: draw  z > 0  as ">"
        return op.symbol
    axis = getattr(op, "axis", None)
    if name in ("sum", "max") and axis is not None:
        return f"{name}(axis={axis})"
    if name == "transpose" and hasattr(op, "axes"):
        return f"transpose{tuple(op.axes)}"
    if name in ("getitem", "scatteradd") and hasattr(op, "idx"):
        idx = repr(op.idx)
        return f"{name}[{idx if len(idx) <= 20 else idx[:17] + '...'}]"
    return name


def made_from(const, arg):
    """How a constant was computed from an argument that needs no gradient, as (its name
    with {} for the argument's, the label of the dashed arrow): the argument negated (sub's
    y·(−1)), or a copy (a cast); None if neither."""
    if const.shape != arg.shape or const.dtype.kind != "f":
        return None
    with np.errstate(all="ignore"):
        if np.array_equal(const, -np.asarray(arg, dtype=const.dtype), equal_nan=True):
            return "−{}", " ·(−1), not recorded "
        if np.array_equal(const, np.asarray(arg, dtype=const.dtype), equal_nan=True):
            return "{}", " a copy, not recorded "
    return None
