"""The Tensor and its graph walk.

A Tensor is a numpy array plus what autodiff needs:

* ``op``: the primitive op (see ``ops.py``) that produced it, which knows its input
  tensors (``op.parents``) and how to send a gradient back to them (``op.backward``);
* ``grad``: the gradient of the last ``backward()`` root with respect to this tensor.

Every op applied to a tensor that requires grad records one op node, so the graph of the
computation is built as the code runs. ``backward()`` walks that graph once, from the
output back to the leaves, in reverse topological order: that walk, ``backprop``, is the
chain rule and nothing else.

Ownership: a tensor points to the op that made it, the op points to its inputs, and
nothing points back. So the graph has no reference cycles, and dropping the output frees
it at once.
"""
from __future__ import annotations

import numpy as np

from . import convert, ops, speed
from .methods import TensorMethods
from .methods_more import MoreTensorMethods
from .modes import no_grad, refuse_while_tracing, set_grad_enabled


class Tensor(TensorMethods, MoreTensorMethods):
    """A numpy array that remembers how it was computed, so gradients can flow back.

    ``Tensor(data, requires_grad=False, dtype=None, label=None)``: Python numbers and lists
    become float64, numpy arrays keep their dtype (float32 stays float32), integer and bool
    data become float64 unless ``dtype`` says otherwise. A numpy array is not copied.
    """

    # Six slots and no more: a seventh makes each tensor a larger allocation, and Python's
    # garbage collector then took twice as long to scan a 100,000-op graph (T6b 1.9 s -> 3.2 s).
    __slots__ = ("data", "grad", "requires_grad", "label", "op", "changes")
    __hash__ = object.__hash__  # == is elementwise, so tensors hash by identity

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        self.data = convert.as_array(data, dtype)
        if not isinstance(requires_grad, bool | np.bool_):
            raise TypeError(f"Tensor(): requires_grad must be True or False, got {convert.short(requires_grad)}")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor(): only float tensors can require grad, got dtype {self.data.dtype}")
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Tensor(): label must be a string, got {convert.short(label)}")
        self.grad, self.requires_grad, self.label, self.op = None, bool(requires_grad), label, None
        self.changes = 0

    @classmethod
    def wrap(cls, data, op=None, requires_grad=False):
        """The engine's own constructor: ``data`` must already be an ndarray (no checks, no copy)."""
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad, t.label, t.op, t.changes = data, None, requires_grad, None, op, 0
        return t

    @property
    def version(self):
        """How many times the engine changed this tensor's numbers in place (optimiser steps,
        ``load_state_dict``). ``changes`` holds that count, or, for a view (``W.T``, a
        reshape), the tensor it views, whose count it shares."""
        return self.changes if type(self.changes) is int else self.changes.changes

    @version.setter
    def version(self, value):
        if type(self.changes) is int:
            self.changes = value
        else:
            self.changes.changes = value

    shape = property(lambda self: self.data.shape, doc="The shape, as numpy's.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype.")
    is_leaf = property(lambda self: self.op is None, doc="Made by the user, not by an op?")
    T = property(lambda self: ops.Transpose.apply(self, axes=tuple(range(self.data.ndim - 1, -1, -1))),
                 doc="The transpose: axes reversed.")

    def backward(self, gradient=None, create_graph=False):
        """Fill ``.grad`` of every tensor in the graph that requires grad (accumulating).

        ``gradient`` is ∂loss/∂self; it may be left out when this tensor has one element.
        With ``create_graph=True`` the backward pass is itself recorded, so ``.grad`` can be
        differentiated again (then a leaf's ``.grad`` refers back to the graph that contains
        the leaf, a reference cycle, as in PyTorch; ``tg.grad`` avoids it).
        """
        seed = initial_gradient(self, gradient, "backward()")
        with speed.collector_paused(), set_grad_enabled(create_graph):
            order = topological_order(self)
            check_unmodified(order)
            grads = backprop(order, seed)
            for t, g in grads.items():
                t.grad = g if t.grad is None else t.grad + g

    def detach(self):
        """A tensor sharing this one's data, cut off from the graph (no gradient flows)."""
        return ops.Detach.apply(self)

    def numpy(self):
        """The numpy array (not a copy)."""
        refuse_while_tracing("numpy()")
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self._one_number("item()").item()

    def tolist(self):
        """The values as (nested) Python lists."""
        refuse_while_tracing("tolist()")
        return self.data.tolist()

    def _one_number(self, what):
        refuse_while_tracing(what)
        if self.data.size != 1:
            raise ValueError(f"{what}: only a tensor with exactly one element converts to a Python number; "
                             f"this one has shape {self.shape} ({self.size} elements). Reduce it first, "
                             f"e.g. .sum() or .mean(), or use .tolist().")
        return self.data

    # Python protocols: a one-element tensor behaves like a number where one is expected.
    def __float__(self):
        return float(self._one_number("float()").item())

    def __int__(self):
        return int(self._one_number("int()").item())

    def __bool__(self):
        refuse_while_tracing("bool() (an if or while on a tensor)")
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"reduce it first, e.g. bool((t > 0).data.all())")
        return bool(self.data.item())

    def __format__(self, spec):
        return format(self._one_number(f"format(tensor, {spec!r})").item(), spec) if spec else repr(self)

    def __round__(self, ndigits=None):
        return round(self._one_number("round()").item(), ndigits)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        refuse_while_tracing("np.asarray()")
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", precision=4)
        extra = f", dtype={self.data.dtype}" if self.data.dtype != np.float64 else ""
        extra += ", requires_grad=True" if self.requires_grad else ""
        extra += f", label={self.label!r}" if self.label is not None else ""
        return f"Tensor({body}{extra})"


# ---------------------------------------------------------------------------------------
# The graph walk.
# ---------------------------------------------------------------------------------------
def topological_order(root):
    """The tensors that ``root`` depends on through recorded ops, inputs before outputs.

    Iterative depth-first search (an explicit stack instead of recursion), so a chain of
    100,000 ops needs no deep Python stack. Only tensors that require grad are followed:
    constants and masks have no gradient to receive.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
        elif t not in visited:
            visited.add(t)
            stack.append((t, True))
            for x in t.op.parents if t.op is not None else ():
                if x.requires_grad and x not in visited:
                    stack.append((x, False))
    return order


def backprop(order, seed):
    """The chain rule: ∂L/∂t for every tensor t in ``order`` (topological, the root L last).

    Tensors are visited from the root back: when t comes up, every op that used t has
    already sent its share of ∂L/∂t, so the sum is complete, and t's own op can send it
    on to its inputs. Returns ``{tensor: gradient}``.
    """
    grads = {order[-1]: seed}  # ∂L/∂L = seed
    for t in reversed(order):
        if t.op is None or t not in grads:  # a leaf, or no path from t to the root
            continue
        inputs = t.op.parents
        shares = t.op.backward(grads[t], t, *inputs)  # ∂L/∂x = ∂L/∂t · ∂t/∂x, per input
        for x, share in zip(inputs, shares):
            if share is None or not x.requires_grad:
                continue
            share = unbroadcast(share, x)  # x was broadcast? sum the copies' gradients
            grads[x] = grads[x] + share if x in grads else share  # used twice? add up
    return grads


def unbroadcast(g, x):
    """Sum ``g`` over the axes that numpy broadcasting added or stretched, so that it has
    ``x``'s shape (and dtype). If y = broadcast(x), every element of x was copied to
    several places of y, so its gradient is the sum of the gradients of all its copies."""
    shape = x.data.shape
    if g.data.shape != shape:
        lead = g.ndim - len(shape)  # axes broadcasting added in front
        stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
        if stretched:  # size-1 axes that were stretched: sum, keeping them as size 1
            g = g.sum(axis=stretched, keepdims=True)
        if lead:  # axes that were added: sum them away
            g = g.sum(axis=tuple(range(lead)))
    if g.data.dtype != x.data.dtype:  # e.g. a float32 input met a float64 partner
        g = g.astype(x.dtype)
    return g


def initial_gradient(root, gradient, where):
    """The seed ∂L/∂root of a backward pass: ones for a one-element root, else ``gradient``."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{where}: expected a Tensor output, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError(
            f"{where}: this tensor (shape {root.shape}) does not require grad, so there is no graph "
            f"to differentiate. Create the inputs with requires_grad=True (and not inside no_grad()).")
    if gradient is None:
        if root.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {root.shape}; a gradient can be seeded implicitly only "
                f"for a one-element output. Reduce it (e.g. .sum()) or pass gradient= an array of "
                f"shape {root.shape}.")
        return Tensor.wrap(np.ones(root.shape, dtype=root.dtype))
    g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=root.dtype)
    if g.shape != root.shape:
        raise ValueError(f"{where}: gradient has shape {g.shape}, but the output has shape {root.shape}; they must match")
    with no_grad():
        return g.astype(root.dtype) if g.dtype != root.dtype else g


def check_unmodified(order):
    """Refuse to differentiate a graph whose saved inputs were changed in place since.

    An op that needs an input's values for its backward rule (``x * w`` needs ``w``)
    notes the input's ``version``; the engine's in-place updates (optimiser steps,
    ``load_state_dict``) bump it. Writing into ``.data`` directly bypasses this, as in PyTorch.
    """
    for t in order:
        op = t.op
        if op is not None and op.versions is not None:
            for x, seen in zip(op.parents, op.versions):
                if x.version != seen:
                    base = x  # a view (W.T) shares its base's counter: name the base, e.g. 'weight'
                    while base.label is None and base.op is not None and base.op.makes_view:
                        base = base.op.parents[0]
                    name = (f"'{base.label}'" if base.label else "a tensor") + f" of shape {base.shape}"
                    name += f" (seen through its {x.op.name} view)" if base is not x else ""
                    inside = f" (inside {' > '.join(s.name for s in op.scope)})" if op.scope else ""
                    raise RuntimeError(
                        f"backward(): {name} was modified in place (version {seen} -> {x.version}) "
                        f"after op '{op.name}'{inside} saved it for its backward rule, so its "
                        f"gradients would be wrong. Run backward() before the optimiser step or "
                        f"load_state_dict, or compute the forward pass again.")
