"""Turning what a user passes (numbers, lists, numpy arrays, axes, indices) into what ops take.

One converter from user data to arrays (``as_array``), one from an operand to a tensor
(``lift``, with PyTorch's type promotion), and the checks of axis and index arguments.
Each error says which call received the bad value, what it was and what was expected.
"""
from __future__ import annotations

import numbers
import sys

import numpy as np

from . import modes, tensor

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float, PyTorch's categories


def user_call(default):
    """The call the user made that is running now, for error messages: the outermost
    composite (``sub`` for the add inside ``a - b``, ``mean`` for its sum), else ``default``.

    While grad mode is on, composites note their name in the scope. Under ``no_grad`` they
    skip that (it would cost time on every call), so their frames on the Python call stack
    are looked up instead: slower, but this runs only when an error is being explained.
    """
    names = [s.name for s in modes.current_scope() if s.kind == "composite"]
    if not names and not modes.is_grad_enabled():
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code is _COMPOSITE_CALL:
                names.insert(0, frame.f_locals["fn"].__name__)
            frame = frame.f_back
    return names[0] if names else default


_COMPOSITE_CALL = modes.composite(len).__code__  # the code that runs every composite call


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


def float_dtype(dtype, where):
    """``np.dtype(dtype)`` if it is a float type (what a parameter needs); a clear error otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        shown = dtype.__name__ if isinstance(dtype, type) else short(dtype)
        raise TypeError(f"{where}: dtype must be a float type such as np.float32 or np.float64 (its "
                        f"parameters need gradients), got {shown}")
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
    own (a Python float with a bool or integer tensor gives float64, the engine's default
    float, where PyTorch's is float32: ``(t > 1.5) + 0.5`` is 1.5 or 0.5, not a boolean).
    A tensor ``x`` is returned as it is: two tensors are matched by ``promote``.
    """
    if isinstance(x, tensor.Tensor):
        return x
    if (type(x) is float or type(x) is int) and like.data.dtype.kind == "f":  # x * 2.0: quick
        return tensor.Tensor.wrap(np.array(x, dtype=like.data.dtype))
    arr = operand_array(x, f"{user_call('an operation')}: an operand combined with a tensor of shape {like.shape}")
    if _KIND_RANK[arr.dtype.kind] <= _KIND_RANK[like.data.dtype.kind]:
        arr = arr.astype(like.data.dtype, copy=False)
    return tensor.Tensor.wrap(arr)


def promote(x, y):
    """The two operands of a binary op as tensors of one dtype: PyTorch's result type.

    A number or array operand is a constant, matched to the other side by ``lift``. Between
    two tensors, PyTorch's rules (numpy's differ): the higher category wins with its own
    dtype (int32 with float16 gives float16, numpy float32); within a category a tensor with
    dimensions decides over a 0-d one (float32 of shape (3,) with a float64 0-d tensor stays
    float32; numpy makes float64), and otherwise the two promote as numpy does (int8 with
    int16: int16). A tensor whose dtype changes goes through a recorded cast, so gradients
    flow back through it in its own dtype.
    """
    Tensor = tensor.Tensor
    if type(y) is not Tensor and not isinstance(y, Tensor):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x, lift(y, x)
    if type(x) is not Tensor and not isinstance(x, Tensor):
        return lift(x, y), y
    dx, dy = x.data.dtype, y.data.dtype
    if dx == dy:  # the common case
        return x, y
    rx, ry = _KIND_RANK[dx.kind], _KIND_RANK[dy.kind]
    if rx != ry:
        dt = dx if rx > ry else dy
    elif (x.data.ndim == 0) != (y.data.ndim == 0):
        dt = dy if x.data.ndim == 0 else dx
    else:
        dt = np.promote_types(dx, dy)
    return (x if dx == dt else x.astype(dt)), (y if dy == dt else y.astype(dt))


def axes(axis, ndim, opname):
    """Normalise an axis argument (None, an int or a tuple of ints), checked against ndim.
    An error names the call the user made (``mean(axis=5)`` is mean's, not its sum's)."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise TypeError(f"{user_call(opname)}: axis must be an int or a tuple of ints, got {short(axis)}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{user_call(opname)}: axis {axis!r} is out of range for a tensor with "
                             f"{ndim} dimension(s) (valid: {-max(ndim, 1)} to {max(ndim, 1) - 1})")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{user_call(opname)}: axis {axis!r} names the same dimension twice")
    return tuple(out) if isinstance(axis, tuple | list) else out[0]


def shape_arg(shape, opname):
    """``reshape(2, 3)``, ``reshape((2, 3))`` and ``reshape([2, 3])`` all give ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    for n in shape:
        if type(n) is not int and (isinstance(n, bool) or not isinstance(n, np.integer)):
            raise TypeError(f"{opname}: expected ints, as {opname}(2, 3) or {opname}((2, 3)), "
                            f"got {short(tuple(shape))}")
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
            f"Tensor([...]) stores numbers (and True/False) as float64: pass an integer array "
            f"(np.array([...])) or Tensor(..., dtype=np.int64); for a mask use a comparison such as "
            f"t > 0, or Tensor([...], dtype=bool)")
    return idx


def is_basic_index(idx):
    """Only slices, integers, None and ...? (numpy's "basic indexing": each element picked at most once)"""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice | np.integer) for i in items)
