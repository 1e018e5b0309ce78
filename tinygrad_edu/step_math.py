"""The arithmetic a step-through caption shows, in the network's own names and numbers.

For one element of a value, ``forward_text`` says how the op computed it
(``z[0,1] = (X@W1ᵀ)[0,1] + c[1] = 0.12 + 0.5 = 0.62``) and ``share_text`` how an op's backward
rule computed the share of the gradient it sends to one input
(``∂loss/∂h[0,1] = ∂loss/∂ŷ[0,0] · w2[0,1] = 0.5 × 0.3246 = 0.1623``). ``rule_text`` is the
rule itself in the network's names. An op this module does not know gets the value only,
with its rule's comment from ops.py.
"""
from __future__ import annotations

import functools
import inspect
import re

import numpy as np

from .picture import number_text
from .picture_names import wrap

MAX_TERMS = 4  # a sum of more terms is shown as its first ones, "…", and how many


def idx_text(k):
    """``[0,1]`` for the element (0, 1); nothing for a scalar."""
    return "[" + ",".join(str(int(i)) for i in k) + "]" if len(k) else ""


def transposed(name):
    """``name``ᵀ, where the transpose of ``w2ᵀ`` is ``w2``."""
    return name[:-1] if name.endswith("ᵀ") else f"{name}ᵀ"


def factor(v):
    """A number as a factor of a product: negative numbers in parentheses."""
    s = number_text(v)
    return f"({s})" if s.startswith("-") else s


def sources(x_shape, out_shape, k):
    """The positions of an output of ``out_shape`` that read element ``k`` of a broadcast
    input of ``x_shape`` (one position unless the input was broadcast)."""
    lead = len(out_shape) - len(x_shape)
    ranges = [range(n) for n in out_shape]
    for d, n in enumerate(x_shape):
        if n == 1 and out_shape[lead + d] != 1:
            continue
        ranges[lead + d] = (k[d],)
    return [p for p in np.ndindex(*[len(r) for r in ranges])
            for p in [tuple(r[i] for r, i in zip(ranges, p))]]


def read(t, p):
    """Element ``p`` of an output's broadcast input ``t``."""
    lead = len(p) - t.ndim
    return t.data[tuple(0 if n == 1 else p[lead + d] for d, n in enumerate(t.shape))]


def at(t, p):
    """The index of ``t`` that output position ``p`` reads (broadcasting)."""
    lead = len(p) - t.ndim
    return tuple(0 if n == 1 else p[lead + d] for d, n in enumerate(t.shape))


def summed(symbols, numbers, value, why=""):
    """``sym = nums = value``, or a sum of terms cut after MAX_TERMS."""
    if len(symbols) == 1:
        last = number_text(value)
        return f"{symbols[0]} = {numbers[0]}" + (f" = {last}" if numbers[0] != last else "")
    more = len(symbols) > MAX_TERMS
    sym = " + ".join(symbols[:2]) + (" + …" if len(symbols) > 2 else "")
    nums = " + ".join(numbers[:MAX_TERMS]) + (f" + … ({len(numbers)} terms)" if more else "")
    return f"{sym}{why} = {nums} = {number_text(value)}"


# ---------------------------------------------------------------------------------------
# Forward: how one element of a value was computed.
# ---------------------------------------------------------------------------------------
def forward_text(t, k, name, names):
    """``name[k] = ... = value`` for the op that made ``t``; ``names`` maps id -> name."""
    op, ps = t.op, t.op.parents
    nm = [wrap(names.get(id(p)) or "?") for p in ps]
    left, value = f"{name}{idx_text(k)}", t.data[k]
    n = op.name
    if n in ("add", "mul", "div", "pow", "maximum") or hasattr(op, "symbol"):
        a, b = (f"{nm[i]}{idx_text(at(p, k))}" for i, p in enumerate(ps))
        va, vb = (read(p, k) for p in ps)
        sign = {"add": "+", "mul": "·", "div": "/", "pow": "^"}.get(n, getattr(op, "symbol", None))
        if n == "maximum":
            return f"{left} = max({a}, {b}) = max({number_text(va)}, {number_text(vb)}) = {number_text(value)}"
        return f"{left} = {a} {sign} {b} = {factor(va)} {sign} {factor(vb)} = {number_text(value)}"
    if n in ("exp", "log"):
        return f"{left} = {n}({nm[0]}{idx_text(k)}) = {n}({number_text(ps[0].data[k])}) = {number_text(value)}"
    if n == "where":
        c = bool(read(ps[0], k))
        pick = 1 if c else 2
        return (f"{left} = {nm[pick]}{idx_text(at(ps[pick], k))} because {nm[0]}{idx_text(at(ps[0], k))} is "
                f"{'True' if c else 'False'}: {number_text(value)}")
    if n == "matmul" and ps[0].ndim == 2 and ps[1].ndim == 2:
        i, j = k
        sym = [f"{nm[0]}[{i},{m}]·{nm[1]}[{m},{j}]" for m in range(ps[0].shape[1])]
        nums = [f"{factor(ps[0].data[i, m])} × {factor(ps[1].data[m, j])}" for m in range(ps[0].shape[1])]
        return f"{left} = " + summed(sym, nums, value)
    if n == "sum" and getattr(op, "axis", None) is None:
        flat = ps[0].data.reshape(-1)
        nums = [number_text(v) for v in flat]
        return f"{left} = sum of the {flat.size} elements of {nm[0]} = " + summed(nums, nums, value).split(" = ", 1)[1]
    if n == "transpose" and hasattr(op, "axes"):
        src = tuple(k[list(op.axes).index(d)] for d in range(len(k)))
        return f"{left} = {nm[0]}{idx_text(src)} = {number_text(value)}"
    return f"{left} = {number_text(value)}  ({op.name} of {', '.join(nm)})"


# ---------------------------------------------------------------------------------------
# Backward: the share a rule sends to one element of one input.
# ---------------------------------------------------------------------------------------
def share_text(t, pos, k, share, G, names, L):
    """``∂L/∂x[k] = ... = value``: the share of ``t``'s op's rule for its input number ``pos``.

    ``share`` is the share as the walk adds it (summed back to the input's shape); ``G`` the
    complete gradient of ``t`` (an array); ``names`` maps id(tensor) -> the name drawn; ``L``
    is the output's name.
    """
    op, ps = t.op, t.op.parents
    x = ps[pos]
    nm = [wrap(names.get(id(p)) or "?") for p in ps]
    g = f"∂{L}/∂{wrap(names.get(id(t)) or '?')}"
    left = f"∂{L}/∂{nm[pos]}{idx_text(k)}"
    value = share.data[k]
    n = op.name
    elementwise = n in ("add", "mul", "div", "pow", "exp", "log", "maximum", "where", "expand", "cast")
    if elementwise:
        terms = []
        for p in sources(x.shape, t.shape, k):
            gp = f"{g}{idx_text(p)}"
            other = [f"{nm[i]}{idx_text(at(q, p))}" for i, q in enumerate(ps)]
            vals = [read(q, p) for q in ps]
            if n in ("add", "expand", "cast"):
                terms.append((gp, factor(G[p]) if terms else number_text(G[p])))
            elif n == "mul":
                o = 1 - pos
                terms.append((f"{gp}·{other[o]}", f"{factor(G[p])} × {factor(vals[o])}"))
            elif n == "div" and pos == 0:
                terms.append((f"{gp}/{other[1]}", f"{factor(G[p])} / {factor(vals[1])}"))
            elif n == "div":
                terms.append((f"−{gp}·{wrap(names.get(id(t)) or '?')}{idx_text(p)}/{other[1]}",
                              f"-{factor(G[p])} × {factor(t.data[p])} / {factor(vals[1])}"))
            elif n == "exp":
                terms.append((f"{gp}·{wrap(names.get(id(t)) or '?')}{idx_text(p)}", f"{factor(G[p])} × {factor(t.data[p])}"))
            elif n == "log":
                terms.append((f"{gp}/{other[0]}", f"{factor(G[p])} / {factor(vals[0])}"))
            elif n == "pow" and pos == 0:
                terms.append((f"{gp}·{other[1]}·{other[0]}^({other[1]}−1)",
                              f"{factor(G[p])} × {factor(vals[1])} × {factor(vals[0])}^{factor(vals[1] - 1)}"))
            elif n == "where":
                c = bool(vals[0])
                keep = c if pos == 1 else not c
                terms.append((f"{gp}·[{'' if pos == 1 else 'not '}{other[0]}]", f"{factor(G[p])} × {int(keep)}"))
            elif n == "maximum":
                mine, theirs = vals[pos], vals[1 - pos]
                w = 1.0 if mine > theirs else 0.5 if mine == theirs else 0.0
                terms.append((f"{gp}·[{other[pos]} is the max]", f"{factor(G[p])} × {number_text(w)}"))
            else:
                return f"{left} = {number_text(value)}"
        why = f"  ({nm[pos]} was broadcast: its copies' shares add up)" if len(terms) > 1 else ""
        return f"{left} = " + summed([s for s, _ in terms], [v for _, v in terms], value, why)
    if n == "matmul" and ps[0].ndim == 2 and ps[1].ndim == 2 and G.ndim == 2:
        i, j = k
        if pos == 0:  # ∂L/∂A[i,j] = Σ_m G[i,m] · B[j,m]
            m_range = range(G.shape[1])
            sym = [f"{g}[{i},{m}]·{nm[1]}[{j},{m}]" for m in m_range]
            nums = [f"{factor(G[i, m])} × {factor(ps[1].data[j, m])}" for m in m_range]
        else:  # ∂L/∂B[i,j] = Σ_m A[m,i] · G[m,j]
            m_range = range(G.shape[0])
            sym = [f"{nm[0]}[{m},{i}]·{g}[{m},{j}]" for m in m_range]
            nums = [f"{factor(ps[0].data[m, i])} × {factor(G[m, j])}" for m in m_range]
        return f"{left} = " + summed(sym, nums, value)
    if n == "sum":
        axis = getattr(op, "axis", None)
        if axis is None:
            q = () if G.ndim == 0 else (0,) * G.ndim
        else:
            axes = {a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))}
            q = tuple(0 if d in axes else i for d, i in enumerate(k)) if G.ndim == x.ndim else \
                tuple(i for d, i in enumerate(k) if d not in axes)
        return f"{left} = {g}{idx_text(q)} (copied back to every summed element) = {number_text(value)}"
    if n == "transpose" and hasattr(op, "axes"):
        q = tuple(k[a] for a in op.axes)
        return f"{left} = {g}{idx_text(q)} = {number_text(value)}"
    if n == "reshape":
        q = np.unravel_index(np.ravel_multi_index(k, x.shape), t.shape) if x.ndim else ()
        return f"{left} = {g}{idx_text(tuple(q))} = {number_text(value)}"
    return f"{left} = {number_text(value)}"


# ---------------------------------------------------------------------------------------
# The rule in the network's names.
# ---------------------------------------------------------------------------------------
RULES = {  # {z}: the op's result, {a}, {b}: its inputs, {c}: where's mask; {dz}: ∂L/∂z, ...
    "add": ["{da} = {dz}", "{db} = {dz}"],
    "mul": ["{da} = {dz} · {b}", "{db} = {dz} · {a}"],
    "div": ["{da} = {dz} / {b}", "{db} = −{dz} · {z} / {b}"],
    "pow": ["{da} = {dz} · {b} · {a}^({b} − 1)", "{db} = {dz} · {z} · log {a}"],
    "exp": ["{da} = {dz} · {z}   (the derivative of eˣ is eˣ)"],
    "log": ["{da} = {dz} / {a}"],
    "maximum": ["{da} = {dz} where {a} > {b} (half of it on a tie), else 0",
                "{db} = {dz} where {b} > {a} (half of it on a tie), else 0"],
    "where": ["{da} = {dz} where the mask {c} is True, else 0", "{db} = {dz} where the mask {c} is False, else 0"],
    "sum": ["{da} = {dz}, copied back to every element that was summed"],
    "max": ["{da} = {dz} at the largest elements (shared equally on ties), 0 elsewhere"],
    "transpose": ["{da} = ({dz}) transposed back"],
    "reshape": ["{da} = {dz} reshaped back to the shape of {a}"],
    "expand": ["{da} = {dz} summed over the copies"],
    "cast": ["{da} = {dz}, in the dtype of {a}"],
    "matmul": ["{da} = {dz} · {bT}", "{db} = {aT} · {dz}"],
    "getitem": ["{da} = zeros, with {dz} added at the picked elements"],
}


def rule_text(t, names, L):
    """The backward rule of the op that made ``t`` in the network's names, for the inputs
    that receive a gradient: ``∂loss/∂h = ∂loss/∂(h@w2ᵀ) · w2ᵀᵀ``, ..."""
    op, ps = t.op, t.op.parents
    lines = RULES.get(op.name)
    if lines is None:
        comment = rule_comment(type(op))
        return f"the backward rule of {op.name}" + (f" (ops.py: {comment})" if comment else "")
    pn = [wrap(names.get(id(p)) or "?") for p in ps]
    inputs = ps[1:] if op.name == "where" else ps
    subs = dict(zip("ab", pn[1:] if op.name == "where" else pn))
    subs.setdefault("b", "?")
    subs["c"] = names.get(id(ps[0])) or "cond"
    subs["z"] = wrap(names.get(id(t)) or "?")
    for key in "abz":
        subs["d" + key] = f"∂{L}/∂{subs[key]}"
        subs[key + "T"] = transposed(subs[key])
    wanted = [line for line, p in zip(lines, inputs) if p.requires_grad] or lines[:1]
    if len(inputs) > 1 and inputs[0] is inputs[1]:  # x·x: one rule, used twice
        wanted = [wanted[0] + f", once for each of its two uses: {subs['a']} receives two shares"]
    return ";  ".join(line.format_map(subs) for line in wanted)


@functools.lru_cache(maxsize=None)
def rule_comment(op_class):
    """The comment of an op's backward rule in ops.py (the derivative in math), if any:
    the comment on its ``def`` line, else the first block of comment lines in its body."""
    try:
        lines = inspect.getsource(op_class.backward).splitlines()
    except (OSError, TypeError):
        return ""
    comment = []
    for number, line in enumerate(lines):
        code, hash_, text = line.partition("#")
        if hash_ and (number == 0 or comment or not code.strip() or "∂" in text):
            comment.append(text.strip())
            if code.strip():  # a comment after code is one line long
                break
        elif comment:
            break
    return re.sub(r"\s+", " ", " ".join(comment)).strip()
