"""Building tensors and moving their elements: composites of indexing, reshape, transpose,
expand and concatenate, whose backward rules already exist.

No arithmetic happens here, so every gradient is the same movement run backwards: a
slice's gradient is scattered back into place, a reshape's is reshaped back, a copy's
(tile, repeat) is summed over the copies. ``Concatenate`` (``ops_layout.py``) is the only
primitive these need that ``ops.py`` lacks.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import convert, ops, tensor
from .modes import composite
from .ops_layout import Concatenate


def tensor_list(tensors, where):
    """A non-empty list of Tensors (arrays and numbers become constants of the first
    tensor's dtype), or a clear error."""
    if isinstance(tensors, tensor.Tensor) or not isinstance(tensors, list | tuple):
        raise TypeError(f"{where}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{where}: expected a non-empty list of tensors, got an empty one")
    like = next((t for t in tensors if isinstance(t, tensor.Tensor)), None)
    return [t if isinstance(t, tensor.Tensor) else
            (convert.lift(t, like) if like is not None else tensor.Tensor(t)) for t in tensors]


def axis_for(axis, ndim, where):
    """One axis in [−ndim, ndim), as a non-negative int."""
    return convert.axes(axis, ndim, where) if ndim else convert.axes(axis, 1, where)


# ---------------------------------------------------------------------------------------
# Several tensors into one, and one into several.
# ---------------------------------------------------------------------------------------
def cat(tensors, axis=0):
    """Join tensors along an existing ``axis`` (numpy's ``concatenate``). A primitive: each
    input gets back its own slab of the gradient."""
    xs = tensor_list(tensors, "cat")
    if any(x.ndim == 0 for x in xs):
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use tg.stack")
    if len({x.ndim for x in xs}) != 1:
        raise ValueError(f"cat: all tensors need the same number of dimensions, got shapes "
                         f"{[x.shape for x in xs]}")
    return Concatenate.apply(*xs, axis=convert.axes(axis, xs[0].ndim, "cat"))


concatenate = cat


@composite
def stack(tensors, axis=0):
    """Join tensors of one shape along a new ``axis``: each gets a new axis of size 1
    (a reshape), then they are concatenated. The gradient of each is its slice."""
    xs = tensor_list(tensors, "stack")
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[x.shape for x in xs]}")
    axis = convert.axes(axis, xs[0].ndim + 1, "stack")
    return Concatenate.apply(*[unsqueeze(x, axis) for x in xs], axis=axis)


@composite
def split(x, split_size_or_sections, axis=0):
    """Pieces of ``x`` along ``axis`` (PyTorch's convention): an int is the size of each piece
    (the last may be smaller), a list gives the sizes, which must add up to the axis length.
    Each piece is a slice, so its gradient goes back to its place."""
    axis = axis_for(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, numbers.Integral) and not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size < 1:
            raise ValueError(f"split: the piece size must be a positive integer, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: the sizes {sizes} must be non-negative and add up to the length "
                             f"{n} of axis {axis} (shape {x.shape})")
    pieces, start = [], 0
    for s in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + s),)])
        start += s
    return tuple(pieces)


def chunk(x, chunks, axis=0):
    """``chunks`` pieces of nearly equal size along ``axis`` (PyTorch's: each ⌈n/chunks⌉ long,
    so there may be fewer pieces than asked)."""
    if not isinstance(chunks, numbers.Integral) or isinstance(chunks, bool) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    n = x.shape[axis_for(axis, x.ndim, "chunk")]
    return split(x, max(-(-n // int(chunks)), 1), axis)


# ---------------------------------------------------------------------------------------
# One tensor, another shape (each one reshape or one transpose).
# ---------------------------------------------------------------------------------------
def unsqueeze(x, axis):
    """A new axis of size 1 at ``axis`` (numpy's ``expand_dims``): a reshape."""
    axis = convert.axes(axis, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    """Drop axes of size 1 (all of them, or those in ``axis``; an axis whose size is not 1
    is left alone, as in PyTorch): a reshape."""
    axes = convert.axes(axis, x.ndim, "squeeze") if x.ndim else None
    axes = range(x.ndim) if axes is None else (axes if isinstance(axes, tuple) else (axes,))
    drop = {a for a in axes if x.shape[a] == 1}
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in drop))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge the axes start_dim..end_dim (both included) into one: a reshape."""
    if x.ndim == 0:
        return x.reshape(1)
    start = convert.axes(start_dim, x.ndim, "flatten")
    end = convert.axes(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {x.shape})")
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def permute(x, *axes):
    """Reorder the axes: ``permute(2, 0, 1)``; a transpose."""
    axes = convert.shape_arg(axes, "permute")
    if sorted(convert.axes(a, x.ndim, "permute") for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return x.transpose(tuple(a % x.ndim for a in axes))


def swapaxes(x, axis1, axis2):
    """Exchange two axes; a transpose."""
    order = list(range(x.ndim))
    a, b = convert.axes(axis1, x.ndim, "swapaxes"), convert.axes(axis2, x.ndim, "swapaxes")
    order[a], order[b] = order[b], order[a]
    return x.transpose(tuple(order))


def moveaxis(x, source, destination):
    """Move one axis to another position, keeping the others in order; a transpose."""
    src = convert.axes(source, x.ndim, "moveaxis")
    dst = convert.axes(destination, x.ndim, "moveaxis")
    order = [a for a in range(x.ndim) if a != src]
    order.insert(dst, src)
    return x.transpose(tuple(order))


# ---------------------------------------------------------------------------------------
# Elements rearranged or copied.
# ---------------------------------------------------------------------------------------
def flip(x, axis=None):
    """Reverse the order along ``axis`` (all axes by default): one slice with step −1."""
    axes = convert.axes(axis, x.ndim, "flip")
    axes = range(x.ndim) if axes is None else (axes if isinstance(axes, tuple) else (axes,))
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


@composite
def roll(x, shift, axis=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (without an axis: along the
    flattened tensor, then the shape is restored): the last part moved to the front with a
    concatenation of two slices."""
    if axis is None:
        return roll(x.reshape(-1), shift, 0).reshape(x.shape)
    shifts = shift if isinstance(shift, tuple | list) else (shift,)
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shift(s) {shift!r} for {len(axes)} axis/axes {axis!r}")
    for s, a in zip(shifts, axes):
        a = convert.axes(a, x.ndim, "roll")
        n = x.shape[a]
        k = int(s) % n if n else 0
        if k:
            before = (slice(None),) * a
            x = Concatenate.apply(x[before + (slice(n - k, None),)], x[before + (slice(0, n - k),)], axis=a)
    return x


def repetitions(reps, where):
    """Validate a tuple of non-negative integer repetition counts."""
    reps = convert.shape_arg(reps if isinstance(reps, tuple) else (reps,), where)
    if any(r < 0 for r in reps):
        raise ValueError(f"{where}: repetition counts must be non-negative, got {reps}")
    return reps


@composite
def tile(x, reps):
    """numpy's ``tile``: the whole tensor repeated reps[i] times along axis i. A new axis of
    size 1 before each axis, expanded to reps[i] copies, and merged: the gradient sums the
    copies."""
    reps = repetitions(reps, "tile")
    d = max(len(reps), x.ndim)
    reps = (1,) * (d - len(reps)) + reps
    shape = (1,) * (d - x.ndim) + x.shape
    spread = x.reshape(tuple(v for n in shape for v in (1, n)))
    copies = spread.expand(tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return copies.reshape(tuple(r * n for r, n in zip(reps, shape)))


def repeat(x, *sizes):
    """PyTorch's ``Tensor.repeat(*sizes)``: the same as numpy's ``tile`` (for numpy's
    ``repeat``, which repeats each element, see ``repeat_interleave``)."""
    sizes = repetitions(convert.shape_arg(sizes, "repeat"), "repeat")
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: give at least one count per axis ({x.ndim}), got {sizes}")
    return tile(x, sizes)


@composite
def repeat_interleave(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (numpy's ``repeat``; without an
    axis, of the flattened tensor): a new axis after ``axis``, expanded, merged."""
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 0:
        raise ValueError(f"repeat_interleave: repeats must be a non-negative integer, got {repeats!r}")
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = convert.axes(axis, x.ndim, "repeat_interleave")
    s = x.shape
    copies = x.reshape(s[:axis + 1] + (1,) + s[axis + 1:]).expand(s[:axis + 1] + (int(repeats),) + s[axis + 1:])
    return copies.reshape(s[:axis] + (s[axis] * int(repeats),) + s[axis + 1:])


def pad_pairs(pad_width, ndim):
    """numpy's pad_width (an int, one (before, after) pair, or a pair per axis) as a pair per axis."""
    try:
        pairs = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} must be an int, a (before, after) pair or one "
                         f"pair per axis ({ndim} axes)") from None
    if pairs.dtype.kind not in "iu" or (pairs < 0).any():
        raise ValueError(f"pad: pad_width must hold non-negative integers, got {pad_width!r}")
    return [(int(a), int(b)) for a, b in pairs]


@composite
def pad(x, pad_width, value=0.0):
    """Surround ``x`` with ``value`` (numpy's ``pad`` in constant mode; pad_width as numpy's:
    an int, a (before, after) pair, or a pair per axis). ``x`` is written into a block of
    zeros (``ScatterAdd``, the adjoint of indexing, whose backward cuts the middle back
    out); a constant border ``value`` is added by a select with a fixed mask."""
    pairs = pad_pairs(pad_width, x.ndim)
    inside = tuple(slice(a, a + n) for (a, _), n in zip(pairs, x.shape))
    shape = tuple(a + n + b for (a, b), n in zip(pairs, x.shape))
    out = ops.ScatterAdd.apply(x, idx=inside, shape=shape)
    if value != 0:
        mask = np.zeros(shape, dtype=bool)
        mask[inside] = True
        out = ops.where(mask, out, value)
    return out


# ---------------------------------------------------------------------------------------
# Diagonals and triangles.
# ---------------------------------------------------------------------------------------
@composite
def diagonal(x, offset=0, axis1=0, axis2=1):
    """numpy's ``diagonal``: the elements x[..., i, i + offset] of the plane (axis1, axis2),
    as a last axis. Both axes are moved to the end, then picked with two integer arrays."""
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = convert.axes(axis1, x.ndim, "diagonal"), convert.axes(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, both are {axis1}")
    rest = [a for a in range(x.ndim) if a not in (a1, a2)]
    planes = x.transpose(tuple(rest) + (a1, a2))
    n, m = planes.shape[-2:]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    rows = np.arange(length) + max(-offset, 0)
    return planes[..., rows, rows + offset]


@composite
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the diagonal (numpy's ``trace``): ∂/∂Xᵢⱼ = [j = i + offset]."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def triangle_mask(x, k, upper, where):
    if x.ndim < 2:
        raise ValueError(f"{where}: needs at least 2 dimensions, got shape {x.shape}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{where}: k must be an integer (the diagonal offset), got {k!r}")
    ones = np.ones(x.shape[-2:], dtype=bool)
    return np.triu(ones, k) if upper else np.tril(ones, k)


@composite
def triu(x, k=0):
    """The upper triangle (on and above diagonal k) of the last two axes; zeros below.
    A select with a fixed mask: the gradient passes only where the elements were kept."""
    return ops.where(triangle_mask(x, k, True, "triu"), x, 0.0)


@composite
def tril(x, k=0):
    """The lower triangle (on and below diagonal k) of the last two axes; zeros above."""
    return ops.where(triangle_mask(x, k, False, "tril"), x, 0.0)
