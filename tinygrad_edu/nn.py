"""Layers, activations and losses: the lecture's models in a few lines each.

A ``Module`` is a plain Python object whose attributes hold its parameters (Tensors that
require grad) and its sub-modules. Nothing is registered by hand: ``named_parameters``
finds them by walking the attributes in the order they were set, so

    class MLP(Module):
        def __init__(self):
            self.layers = Sequential(Linear(2, 2), ReLU(), Linear(2, 1))

names its parameters ``layers.0.weight``, ``layers.0.bias``, ``layers.2.weight``,
``layers.2.bias``, as PyTorch would.

The losses are composites (see ``composites.py``): a few primitive ops, so their
gradients come from the chain rule alone.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import random as _random
from . import convert
from .modes import Scope, composite, is_grad_enabled
from .tensor import Tensor


# ---------------------------------------------------------------------------------------
# Module: parameters found by walking attributes.
# ---------------------------------------------------------------------------------------
class Module:
    """Base class of layers and models. Subclasses set attributes and define ``forward``.

    A *parameter* is any attribute that is a leaf Tensor with ``requires_grad=True`` (a
    tensor computed from others, e.g. an activation kept for plotting, is not one);
    attributes that are Modules, lists, tuples or dicts are searched for more of them.
    """

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not is_grad_enabled():  # nothing is recorded, so there is no call to name
            return self.forward(*args, **kwargs)
        with Scope(type(self).__name__, kind="module", obj=self, inputs=args):  # for graph pictures
            return self.forward(*args, **kwargs)

    def _children(self):
        """(name, value) pairs to search for parameters: the attributes, in the order set."""
        return vars(self).items()

    def named_parameters(self):
        """``[(dotted name, tensor), ...]`` in a fixed order; a shared tensor is listed once."""
        found, seen = [], set()

        def walk(prefix, value):
            if id(value) in seen:
                return
            if isinstance(value, Tensor):
                if value.requires_grad and value.is_leaf:
                    seen.add(id(value))
                    found.append((prefix, value))
            elif isinstance(value, Module):
                seen.add(id(value))
                for name, child in value._children():
                    walk(f"{prefix}.{name}" if prefix else name, child)
            elif isinstance(value, list | tuple):
                for i, child in enumerate(value):
                    walk(f"{prefix}.{i}", child)
            elif isinstance(value, dict):
                for key, child in value.items():
                    walk(f"{prefix}.{key}", child)

        walk("", self)
        return found

    def parameters(self):
        """The parameter tensors, in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    training = True  # Dropout and BatchNorm1d behave differently in training and in evaluation

    def train(self, mode=True):
        """Set ``training`` on this module and every sub-module (``train(False)`` is ``eval()``)."""
        stack, seen = [self], set()
        while stack:
            value = stack.pop()
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, Module):
                value.training = bool(mode)
                stack.extend(child for _, child in value._children())
            elif isinstance(value, list | tuple):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.values())
        return self

    def eval(self):
        """Evaluation mode: Dropout passes its input through, BatchNorm1d uses running statistics."""
        return self.train(False)

    def zero_grad(self):
        """Forget the gradients of the last ``backward()`` (they accumulate otherwise)."""
        for p in self.parameters():
            p.grad = None

    def state_dict(self):
        """``{name: copy of the parameter's array}``: a snapshot, unaffected by training."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict):
        """Copy arrays (or Tensors) into the parameters, in place.

        All or nothing: every key, shape and dtype, and that every parameter can be written,
        is checked before anything is copied, so a failed load leaves the model as it was.
        Missing or extra keys raise ``KeyError``; a shape or dtype mismatch or a read-only
        parameter raises ``ValueError``; each names the parameter. Should a copy still fail
        midway, the parameters already written get their old values back before the error
        (a ``RuntimeError`` naming the parameter) is raised.
        """
        if not (hasattr(state_dict, "keys") and hasattr(state_dict, "__getitem__")):
            raise TypeError(
                f"load_state_dict into {type(self).__name__}: expected a dict {{name: array}} "
                f"(e.g. from tg.load or model.state_dict()), got a {type(state_dict).__name__}"
            )
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state_dict]
        extra = [k for k in state_dict if k not in params]
        if missing or extra:
            raise KeyError(
                f"load_state_dict into {type(self).__name__}: "
                + "; ".join(
                    ([f"missing key(s) {missing}"] if missing else [])
                    + ([f"unexpected key(s) {extra}"] if extra else [])
                )
                + f". The model's keys are {list(params)}. Nothing was loaded."
            )
        arrays = {}
        for name, p in params.items():
            value = state_dict[name]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if arr.shape != p.shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {p.shape} in the model but {arr.shape} "
                    f"in the state dict. Nothing was loaded."
                )
            if arr.dtype != p.dtype:
                raise ValueError(
                    f"load_state_dict: '{name}' has dtype {p.dtype} in the model but {arr.dtype} "
                    f"in the state dict (convert it with .astype(np.{p.dtype})). Nothing was loaded."
                )
            if not p.data.flags.writeable:
                raise ValueError(
                    f"load_state_dict: the array of parameter '{name}' is read-only, so it cannot "
                    f"be loaded in place. Nothing was loaded."
                )
            arrays[name] = arr
        written = []  # (parameter, its old values), to undo a copy that fails midway
        for i, (name, p) in enumerate(params.items()):
            try:
                written.append((p, p.data.copy()))
                np.copyto(p.data, arrays[name])
                p.version += 1
            except BaseException as e:
                for q, old in reversed(written):  # the failed one too: it may be half written
                    np.copyto(q.data, old)
                if not isinstance(e, Exception):  # Ctrl-C: undone, and not disguised
                    raise
                raise RuntimeError(
                    f"load_state_dict: copying into '{name}' failed ({type(e).__name__}: {e}); "
                    f"the {i} parameter(s) loaded before it were restored, so "
                    f"nothing was loaded."
                ) from e

    def __repr__(self):
        return f"{type(self).__name__}()"


def _parameter(array, name):
    """A fresh parameter: a tensor that requires grad, labelled for graph pictures."""
    return Tensor(array, requires_grad=True, label=name)


# ---------------------------------------------------------------------------------------
# Layers.
# ---------------------------------------------------------------------------------------
class Linear(Module):
    """y = x Wᵀ + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    Initialisation as PyTorch's default: every entry of W and b uniform in ±1/√in_features,
    drawn from the generator that ``tg.manual_seed`` seeds (same seed, same layer).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64):
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Linear: {what} must be a positive integer, got {n!r}")
        dtype = convert.float_dtype(dtype, "Linear")  # a parameter needs a float type for its gradient
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1.0 / np.sqrt(in_features)
        rng = _random.generator()
        w = rng.uniform(-bound, bound, size=(out_features, in_features))
        self.weight = _parameter(w.astype(dtype), "weight")
        if bias:
            self.bias = _parameter(rng.uniform(-bound, bound, size=out_features).astype(dtype), "bias")
        else:
            self.bias = None

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if shape is not None and shape[-1:] != (self.in_features,):
            raise ValueError(f"{self!r}: the input has shape {shape}; its last dimension must be "
                             f"in_features = {self.in_features}")
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def __repr__(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class Sequential(Module):
    """Modules applied in turn: ``Sequential(f, g)(x) == g(f(x))``. Index it like a list;
    its parameters are named by position: ``0.weight``, ``2.bias``, ..."""

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if not callable(m):
                raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a module")
        self.modules = list(modules)

    def _children(self):
        return ((str(i), m) for i, m in enumerate(self.modules))

    def forward(self, x):
        for m in self.modules:
            x = m(x)
        return x

    def __getitem__(self, i):
        return Sequential(*self.modules[i]) if isinstance(i, slice) else self.modules[i]

    def __len__(self):
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __repr__(self):
        body = "".join(f"\n  ({i}): " + repr(m).replace("\n", "\n  ") for i, m in enumerate(self.modules))
        return f"Sequential({body}\n)"


# ---------------------------------------------------------------------------------------
# Activations: modules wrapping the composites, so they can go in a Sequential.
# ---------------------------------------------------------------------------------------
def _real(value, what):
    """A hyper-parameter that must be a real number (not a bool or a string), as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


class ReLU(Module):
    """ReLU(x) = max{0, x}"""

    def forward(self, x):
        return x.relu()


class ELU(Module):
    """ELU(x) = x if x > 0 else α(eˣ − 1)"""

    def __init__(self, alpha=1.0):
        self.alpha = _real(alpha, "ELU: alpha")

    def forward(self, x):
        return x.elu(self.alpha)

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


class Softplus(Module):
    """Softplus(x) = log(1 + eˣ)"""

    def forward(self, x):
        return x.softplus()


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^(−x))"""

    def forward(self, x):
        return x.sigmoid()


class Tanh(Module):
    """tanh(x) = (eˣ − e^(−x)) / (eˣ + e^(−x))"""

    def forward(self, x):
        return x.tanh()


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope·x"""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = _real(negative_slope, "LeakyReLU: negative_slope")

    def forward(self, x):
        return x.leaky_relu(self.negative_slope)

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Identity(Module):
    """Identity(x) = x"""

    def forward(self, x):
        return x


ACTIVATIONS = {
    "relu": ReLU, "elu": ELU, "softplus": Softplus, "sigmoid": Sigmoid,
    "tanh": Tanh, "leaky_relu": LeakyReLU, "identity": Identity,
}


class MLP(Module):
    """A multilayer perceptron: Linear layers with an activation after every one but the last.

    ``MLP([2, 2, 1])`` is the lecture's XOR network: ``layers`` is
    ``Sequential(Linear(2, 2), ReLU(), Linear(2, 1))``. ``activation`` is a name from
    ``ACTIVATIONS``, a Module (the same instance is then used after every hidden layer) or
    a Module class.
    """

    def __init__(self, sizes, activation="relu", dtype=np.float64):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least an input and an output size, got {sizes}")
        if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1 for n in sizes):
            raise ValueError(f"MLP: sizes must be positive integers, got {sizes}")
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {activation!r}; valid names are {sorted(ACTIVATIONS)}")
            make_activation = ACTIVATIONS[activation]
        elif isinstance(activation, Module):
            make_activation = lambda: activation  # noqa: E731
        elif isinstance(activation, type) and issubclass(activation, Module):
            make_activation = activation  # a class, e.g. nn.Tanh: one instance per layer
        else:
            raise TypeError(f"MLP: activation must be a name or a Module, got {activation!r}")
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(make_activation())
            layers.append(Linear(n_in, n_out, dtype=dtype))
        self.layers = Sequential(*layers)

    def forward(self, x):
        return self.layers(x)

    def __repr__(self):
        return f"MLP(layers={self.layers!r})"


from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss  # noqa: E402,F401
from .layers import *  # noqa: E402,F401,F403  (issue 14: Dropout, LayerNorm, Conv2d, ...: layers.__all__)
