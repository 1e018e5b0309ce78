"""Turning what a user passes (numbers, lists, numpy arrays, axes, indices) into what ops take.

One converter from user data to arrays (``as_array``), one from an operand to a tensor
(``lift``, with PyTorch's type promotion), and the checks of axis and index arguments.
Each error says which call received the bad value, what it was and what was expected.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import tensor

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float, PyTorch's categories


def short(obj, n=60):
    """``repr(obj)``, cut to ``n`` characters, for error messages."""
    s = repr(obj)
    return s if len(s) <= n else s[: n - 3] + "..."


def as_array(data, dtype=None, where="Tensor()"):
    """Convert user data to an ndarray: Python numbers and lists become float64, numpy
    arrays keep their dtype (float32 stays float32), integer and bool data become float64
    unless ``dtype`` says otherwise. Tensors give their array (not a copy)."""
    arr = operand_array(data, where)
    if dtype is not None:
        dtype = check_dtype(dtype, where)
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    return arr


def check_dtype(dtype, where):
    """``np.dtype(dtype)`` if it is a bool, integer or float type; a clear error otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "biuf":
        raise TypeError(f"{where}: dtype must be a numpy float, integer or bool type "
                        f"(e.g. np.float32), got {short(dtype)}")
    return dt


def operand_array(data, where):
    """The array for ``data`` with its own kind kept: a Python int stays an integer, a bool
    a bool (``lift`` needs the kind to promote types as PyTorch does)."""
    if isinstance(data, tensor.Tensor):
        return data.data
    if isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
    elif isinstance(data, bool | numbers.Number):
        if isinstance(data, complex):
            raise TypeError(f"{where}: complex numbers are not supported, got {data!r}")
        arr = np.asarray(data)
    elif isinstance(data, list | tuple):
        if any(isinstance(item, tensor.Tensor) for item in data):
            raise TypeError(f"{where}: got a list that holds Tensors; build one tensor from several "
                            f"with tg.stack([...]) (it records the graph), or pass their .data")
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"{where}: the nested list is ragged (rows of different lengths), so "
                             f"it is not a rectangular array: {short(data)}") from e
    else:
        raise TypeError(f"{where}: expected a number, a (nested) list of numbers, a numpy array or "
                        f"a Tensor, got {type(data).__name__}: {short(data)}")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{where}: expected numeric data, got an array of dtype {arr.dtype} ({short(data)})")
    return arr


def lift(x, like):
    """Make the operand ``x`` a tensor to combine with the tensor ``like``.

    Type promotion as in PyTorch, by category (bool < integer < float): an operand of the
    same or a lower category takes ``like``'s dtype, so a float32 graph stays float32
    whatever Python or numpy numbers enter it; an operand of a higher category keeps its
    own (a Python float with a bool or integer tensor gives float64: ``(t > 1.5) + 0.5``
    is 1.5 or 0.5, not a boolean).
    """
    if isinstance(x, tensor.Tensor):
        return x
    if type(x) is float and like.data.dtype.kind == "f":  # the common case, x * 2.0: quick
        return tensor.Tensor.wrap(np.array(x, dtype=like.data.dtype))
    arr = operand_array(x, f"an operand combined with a tensor of shape {like.shape}")
    if _KIND_RANK[arr.dtype.kind] <= _KIND_RANK[like.data.dtype.kind]:
        arr = arr.astype(like.data.dtype, copy=False)
    return tensor.Tensor.wrap(arr)


def axes(axis, ndim, opname):
    """Normalise an axis argument (None, an int or a tuple of ints), checked against ndim."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise TypeError(f"{opname}: axis must be an int or a tuple of ints, got {short(axis)}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{opname}: axis {axis!r} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{opname}: axis {axis!r} names the same dimension twice")
    return tuple(out) if isinstance(axis, tuple | list) else out[0]


def shape_arg(shape, opname):
    """``reshape(2, 3)``, ``reshape((2, 3))`` and ``reshape([2, 3])`` all give ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    for n in shape:
        if type(n) is not int and (isinstance(n, bool) or not isinstance(n, np.integer)):
            raise TypeError(f"{opname}: a shape is a sequence of ints, got {short(tuple(shape))}")
    return tuple(map(int, shape))


def index(idx):
    """Indices may hold tensors (e.g. labels); numpy wants arrays: integer ones, or a
    boolean mask (which picks the elements where it is True, as in numpy and PyTorch)."""
    if isinstance(idx, tuple):
        return tuple(index(i) for i in idx)
    if isinstance(idx, tensor.Tensor):
        idx = idx.data
    if isinstance(idx, np.ndarray) and idx.dtype.kind == "f":
        raise IndexError(
            f"indexing: float indices {short(idx)} cannot pick elements (as in numpy and PyTorch). "
            f"Tensor([...]) stores numbers as float64: pass an integer array (np.array([...])) or "
            f"Tensor(..., dtype=np.int64); for a mask use a comparison such as t > 0")
    return idx
