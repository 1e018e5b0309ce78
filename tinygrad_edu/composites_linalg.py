"""Products: ``einsum`` (the primitive ``ops_linalg.Einsum`` after checking and expanding the
spec) and tensordot, inner, outer and numpy's N-d ``dot``, written as einsums or as a
broadcast product.

``einsum``'s backward is an einsum: see ``ops_linalg.py``. For a matrix product,

    einsum("ij,jk->ik", A, B)   has   ∂L/∂A = einsum("ik,jk->ij", G, B)   (= G Bᵀ)
                                      ∂L/∂B = einsum("ik,ij->jk", G, A)   (= Aᵀ G)

so everything in this file gets its gradients from that one rule.
"""
from __future__ import annotations

import numbers
import string

from . import convert, tensor
from .modes import composite
from .ops_linalg import Einsum


def operands_of(xs, where):
    """Tensors pass through; arrays and numbers become constants of the first tensor's dtype."""
    like = next((x for x in xs if isinstance(x, tensor.Tensor)), None)
    return [x if isinstance(x, tensor.Tensor) else
            (convert.lift(x, like) if like is not None else tensor.Tensor(x)) for x in xs]


def parse(spec, xs):
    """An explicit einsum spec without ``...`` (``"ab,bc->ac"``), for operands ``xs``."""
    if not isinstance(spec, str):
        raise TypeError(f"einsum: the first argument is the subscripts string such as 'ij,jk->ik', "
                        f"got {type(spec).__name__}")
    spec = spec.replace(" ", "")
    if spec.count("->") > 1:
        raise ValueError(f"einsum: {spec!r} has more than one '->'")
    lhs, out = spec.split("->") if "->" in spec else (spec, None)
    terms = lhs.split(",")
    if len(terms) != len(xs):
        raise ValueError(f"einsum: {spec!r} names {len(terms)} operand(s) but {len(xs)} were given")
    for part in terms + ([out] if out is not None else []):
        bad = set(part.replace("...", "")) - set(string.ascii_letters)
        if bad or part.count("...") > 1:
            raise ValueError(f"einsum: {spec!r}: subscripts are letters, with at most one '...' per "
                             f"operand; {part!r} does not fit")
    used = set(lhs + (out or ""))
    spare = [c for c in string.ascii_letters if c not in used]
    n_ell = max((x.ndim - len(t.replace("...", "")) for t, x in zip(terms, xs) if "..." in t), default=0)
    ell = "".join(spare[:n_ell])
    expanded = []
    for i, (t, x) in enumerate(zip(terms, xs)):
        if "..." in t:
            k = x.ndim - (len(t) - 3)
            if k < 0:
                raise ValueError(f"einsum: operand {i} has {x.ndim} dimension(s), fewer than the "
                                 f"letters in {t!r}")
            t = t.replace("...", ell[n_ell - k:])
        if len(t) != x.ndim:
            raise ValueError(f"einsum: operand {i} has shape {x.shape} ({x.ndim} dimension(s)) but its "
                             f"subscripts {t!r} name {len(t)}")
        expanded.append(t)
    if out is None:  # implicit output: the ellipsis axes, then the letters used once, sorted
        letters = "".join(expanded)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        if "..." in out:
            out = out.replace("...", ell)
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: the output subscripts {out!r} repeat a letter")
        missing = set(out) - set("".join(expanded))
        if missing:
            raise ValueError(f"einsum: output letter(s) {sorted(missing)} appear in no operand")
    return expanded, out


def broadcast_sizes(terms, xs, spec):
    """The size of every letter; operands whose size-1 axes must stretch are expanded."""
    sizes = {}
    for t, x in zip(terms, xs):
        for c, n in zip(t, x.shape):
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise ValueError(f"einsum: {spec!r}: letter {c!r} has size {sizes[c]} in one place and "
                                 f"{n} in another (sizes must be equal, or 1 to broadcast)")
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    out = []
    for i, (t, x) in enumerate(zip(terms, xs)):
        if len(set(t)) != len(t) and any(x.shape[t.index(c)] != n for c, n in zip(t, x.shape)):
            raise ValueError(f"einsum: operand {i} repeats a letter in {t!r} over axes of different "
                             f"sizes {x.shape}")
        want = tuple(sizes[c] for c in t)
        out.append(x if want == x.shape else x.expand(want))
    return out


@composite
def einsum(spec, *operands):
    """Einstein summation, as numpy's and PyTorch's ``einsum``: ``einsum("ij,jk->ik", A, B)``
    is A @ B, ``einsum("ii", A)`` the trace, ``einsum("...ij->...ji", X)`` a batch transpose.

    Letters repeated across operands are multiplied along, letters missing from the output
    summed over; size-1 axes broadcast. The gradient with respect to each operand is again
    an einsum (see ``ops_linalg.py``).
    """
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: no operands given")
    xs = operands_of(operands, "einsum")
    terms, out = parse(spec, xs)
    xs = broadcast_sizes(terms, xs, spec)
    return Einsum.apply(*xs, spec=",".join(terms) + "->" + out)


def axes_pair(a, b, axes):
    """tensordot's ``axes`` (an int N, or two sequences) as two lists of axes."""
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={n} needs 0 to {min(a.ndim, b.ndim)} for shapes "
                             f"{a.shape} and {b.shape}")
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise ValueError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
    ax_a = [ax_a] if isinstance(ax_a, numbers.Integral) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, numbers.Integral) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(ax_a)} axis/axes with {len(ax_b)}")
    ax_a = [convert.axes(i, a.ndim, "tensordot") for i in ax_a]
    ax_b = [convert.axes(i, b.ndim, "tensordot") for i in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of shape {a.shape} (size {a.shape[i]}) cannot be "
                             f"summed against axis {j} of shape {b.shape} (size {b.shape[j]})")
    return ax_a, ax_b


@composite
def tensordot(a, b, axes=2):
    """numpy's ``tensordot``: sum the products over the paired ``axes`` of a and b; the
    result has a's free axes, then b's. Written as an einsum."""
    a, b = operands_of([a, b], "tensordot")
    ax_a, ax_b = axes_pair(a, b, axes)
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb) if j not in ax_b]
    return Einsum.apply(a, b, spec=f"{''.join(sa)},{''.join(sb)}->{''.join(out)}")


@composite
def outer(a, b):
    """Outer product aᵢbⱼ of the flattened inputs (numpy's ``outer``): a column times a row,
    a broadcast product."""
    a, b = operands_of([a, b], "outer")
    return a.reshape(-1, 1) * b.reshape(1, -1)


@composite
def inner(a, b):
    """numpy's ``inner``: the sum of products over the last axes of a and b (a plain product
    if either is a scalar)."""
    a, b = operands_of([a, b], "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))


@composite
def dot(a, b):
    """numpy's ``dot``: a product for scalars, the inner product of vectors, the matrix
    product of matrices, and for N-d inputs the sum over the last axis of a and the
    second-to-last of b (the last, if b is a vector)."""
    a, b = operands_of([a, b], "dot")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1 if b.ndim == 1 else -2]))
