"""The road to PyTorch: move a model to ``torch.nn`` and back, weights included.

Three functions, for the models ``nn`` builds (``Linear``, ``Sequential``, ``MLP`` and the
activation modules):

    to_torch(model, dtype=None)            our model   -> an equal torch.nn.Module
    from_torch(torch_module)               torch.nn    -> an equal model of ours
    load_torch_state_dict(model, sd)       a PyTorch state dict -> into our model

The mapping is one to one because both libraries write a layer the same way:

    Linear      y = x Wᵀ + b, W of shape (out_features, in_features)  <->  torch.nn.Linear
                (same layout: W is copied as it is, no transpose; bias=False <-> bias None)
    Sequential  f_n(... f_1(x))  <->  torch.nn.Sequential, children named 0, 1, 2, ...
    MLP         its ``layers`` Sequential  <->  torch.nn.Sequential({"layers": Sequential(...)}),
                so the state-dict keys are ours exactly: layers.0.weight, layers.0.bias, ...
    ReLU max{0, x}, Sigmoid, Tanh, Identity    <->  the torch module of the same name
    ELU(alpha)               x if x > 0 else α(eˣ − 1)       <->  torch.nn.ELU(alpha)
    LeakyReLU(slope)         x if x > 0 else slope·x        <->  torch.nn.LeakyReLU(slope)
    Softplus                 log(1 + eˣ)                    <->  torch.nn.Softplus(beta=1, threshold=40)

torch's Softplus returns x itself once x > threshold (default 20), a shortcut that is off by
log(1 + e^(−x)) ≤ log(1 + e^(−20)) ≈ 2.1e-9 just above 20, in values and in slopes (our slope
is σ(x) < 1; theirs jumps to 1). In float64 that is visible (1e-10 relative on values, 2e-9
on gradients: measured on a grid of x in [−60, 60]). Above 40 it is not: e^(−40) ≈ 4.2e-18 is
below half an ulp of both x and 1 (2^(−54) ≈ 5.6e-17), so x + log(1 + e^(−x)) rounds to x and
σ(x) rounds to 1. to_torch therefore uses ``threshold=SOFTPLUS_THRESHOLD`` (40), which
makes torch's values and gradients agree with ours to the last bit above the threshold
(measured: 0 difference) in float32 and float64 alike; below it torch computes
log(1 + eˣ) itself, and e^40 ≈ 2.4e17 is far from overflowing even in float32.

torch stays optional: nothing here imports it until a function is called, and a missing torch
gives an ImportError that says ``pip install torch``.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict

import numpy as np

from . import nn
from . import random as _random

SOFTPLUS_THRESHOLD = 40.0  # see the module docstring: exact agreement above it in float64

MIN_SOFTPLUS_THRESHOLD = 20.0  # from_torch accepts torch Softplus thresholds from torch's default up

SUPPORTED_TG = "Linear, Sequential, MLP, ReLU, ELU, Softplus, Sigmoid, Tanh, LeakyReLU, Identity"
SUPPORTED_TORCH = (
    "torch.nn.Linear, torch.nn.Sequential (children named 0, 1, 2, ..., or one child named "
    "'layers' holding an MLP), torch.nn.ReLU, ELU, Softplus (beta=1), Sigmoid, Tanh, "
    "LeakyReLU, Identity"
)


def _import_torch(caller):
    """torch, imported only now; without it, an ImportError saying how to install it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"{caller} needs PyTorch, which is not installed: pip install torch") from err
    return torch


def _where(path):
    """How an error message names a layer: by its state-dict prefix, or as the model itself."""
    return f"the layer at '{path}'" if path else "the model itself"


# ---------------------------------------------------------------------------------------
# Ours -> torch.
# ---------------------------------------------------------------------------------------
def _as_torch_dtype(torch, numpy_dtype):
    """torch's dtype for a numpy dtype (torch.from_numpy knows the correspondence)."""
    return torch.from_numpy(np.empty(0, dtype=numpy_dtype)).dtype


def _torch_dtype(torch, dtype, caller):
    """A torch floating dtype from torch.float32, np.float64, "float32", ...; None stays None."""
    if dtype is None:
        return None
    try:
        result = dtype if isinstance(dtype, torch.dtype) else _as_torch_dtype(torch, np.dtype(dtype))
    except TypeError:  # a name numpy does not know, or a numpy type torch cannot hold
        result = None
    if result is None or not result.is_floating_point:
        raise TypeError(f"{caller}: dtype={dtype!r} is not a floating-point type; use torch.float32 or torch.float64")
    return result


def _torch_activation(torch, module):
    """torch's module for one of our activations, or None when ``module`` is not one."""
    kind = type(module)
    if kind is nn.ELU:
        return torch.nn.ELU(alpha=module.alpha)
    if kind is nn.LeakyReLU:
        return torch.nn.LeakyReLU(negative_slope=module.negative_slope)
    if kind is nn.Softplus:
        return torch.nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD)
    same_name = {nn.ReLU: torch.nn.ReLU, nn.Sigmoid: torch.nn.Sigmoid, nn.Tanh: torch.nn.Tanh,
                 nn.Identity: torch.nn.Identity}
    return same_name[kind]() if kind in same_name else None


def _torch_structure(torch, module, dtype, path):
    """The torch module tree matching ours, parameters not yet filled in.

    Types are matched exactly (``type(m) is nn.Linear``): a subclass may compute something else.
    """
    kind = type(module)
    if kind is nn.Linear:
        # skip_init: no random initialisation (it would be overwritten, and would use up
        # torch's random numbers for nothing).
        return torch.nn.utils.skip_init(
            torch.nn.Linear, module.in_features, module.out_features, bias=module.bias is not None,
            dtype=dtype or _as_torch_dtype(torch, module.weight.dtype),
        )
    if kind is nn.Sequential:
        prefix = f"{path}." if path else ""
        return torch.nn.Sequential(*[_torch_structure(torch, m, dtype, f"{prefix}{i}") for i, m in enumerate(module)])
    if kind is nn.MLP:
        inner = _torch_structure(torch, module.layers, dtype, f"{path}.layers" if path else "layers")
        return torch.nn.Sequential(OrderedDict(layers=inner))
    activation = _torch_activation(torch, module)
    if activation is None:
        raise TypeError(
            f"to_torch: {_where(path)} is a {kind.__name__}, which has no PyTorch counterpart here. "
            f"Supported tinygrad_edu modules: {SUPPORTED_TG}."
        )
    return activation


def to_torch(model, dtype=None):
    """An equal ``torch.nn.Module`` holding copies of ``model``'s weights.

    ``model`` is a ``Linear``, ``Sequential``, ``MLP`` or activation module of ``tinygrad_edu.nn``
    (nested freely); the module docstring lists what each becomes. The result computes the same
    function, and ``to_torch(model).state_dict()`` has exactly the keys of
    ``model.state_dict()`` (for an MLP the result is a ``torch.nn.Sequential`` with one child
    named ``layers``, so ``to_torch(mlp).layers[0].weight`` is ``mlp.layers[0].weight``).

    dtype rule: each torch parameter has the dtype of ours (float64 stays float64, float32
    stays float32) unless ``dtype`` is given (torch.float32, np.float32, "float32", ...), in
    which case every parameter is cast to it. The weights are copied, so training one model
    leaves the other alone. Needs torch (pip install torch).
    """
    torch = _import_torch("to_torch")
    if not isinstance(model, nn.Module):
        raise TypeError(f"to_torch: expected a tinygrad_edu.nn.Module, got {type(model).__name__}")
    target = _torch_dtype(torch, dtype, "to_torch")
    module = _torch_structure(torch, model, target, path="")
    # One load for the whole tree: strict=True checks that the keys match ours exactly, and
    # copy_ casts to each parameter's dtype.
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()}, strict=True)
    return module


# ---------------------------------------------------------------------------------------
# torch -> ours.
# ---------------------------------------------------------------------------------------
def _numpy_dtype(torch, tensor, what, caller):
    """The numpy dtype matching a torch tensor's (bfloat16 has none: a clear error)."""
    try:
        return torch.empty(0, dtype=tensor.dtype).numpy().dtype
    except TypeError:
        raise TypeError(
            f"{caller}: {what} has dtype {tensor.dtype}, which numpy has no type for; "
            f"convert the torch model first, e.g. with .float() or .double()"
        ) from None


def _tg_activation(torch, module, path):
    """Our module for one of torch's activations, or None when ``module`` is not one."""
    kind = type(module)
    if kind is torch.nn.ELU:
        return nn.ELU(alpha=module.alpha)
    if kind is torch.nn.LeakyReLU:
        return nn.LeakyReLU(negative_slope=module.negative_slope)
    if kind is torch.nn.Softplus:
        if module.beta != 1:
            raise ValueError(
                f"from_torch: {_where(path)} is Softplus(beta={module.beta}); tinygrad_edu's Softplus "
                f"is log(1 + eˣ), i.e. beta=1 only"
            )
        if module.threshold < MIN_SOFTPLUS_THRESHOLD:
            raise ValueError(
                f"from_torch: {_where(path)} is Softplus(threshold={module.threshold}), which returns x "
                f"for x > {module.threshold} and so differs from log(1 + eˣ) by up to "
                f"{np.log1p(np.exp(-module.threshold)):.3g}; thresholds >= {MIN_SOFTPLUS_THRESHOLD:g} "
                f"(torch's default) are accepted"
            )
        return nn.Softplus()
    same_name = {torch.nn.ReLU: nn.ReLU, torch.nn.Sigmoid: nn.Sigmoid, torch.nn.Tanh: nn.Tanh,
                 torch.nn.Identity: nn.Identity}
    return same_name[kind]() if kind in same_name else None


def _torch_name(torch, module):
    """torch.nn.Conv2d rather than torch.nn.modules.conv.Conv2d; other classes by full name."""
    kind = type(module)
    if getattr(torch.nn, kind.__name__, None) is kind:
        return f"torch.nn.{kind.__name__}"
    return f"{kind.__module__}.{kind.__qualname__}"


def _unsupported(torch, module, path, why=""):
    return TypeError(
        f"from_torch: {_where(path)} is a {_torch_name(torch, module)}{why}, "
        f"which tinygrad_edu cannot represent. Supported: {SUPPORTED_TORCH}."
    )


def _tg_mlp(torch, inner, path):
    """An nn.MLP from the Sequential ``inner`` that an MLP-shaped torch model (at ``path``) holds
    as its child ``layers``, checked to fit MLP's form: Linear (with bias), activation, Linear,
    ..., Linear, with one activation and one dtype throughout."""
    prefix = f"{path}.layers." if path else "layers."
    layers = [_tg_structure(torch, m, f"{prefix}{i}") for i, m in enumerate(inner)]
    linears, activations = layers[0::2], layers[1::2]
    activation_types = tuple(nn.ACTIVATIONS.values())
    if len(layers) % 2 == 0 or not all(type(m) is nn.Linear for m in linears) \
            or not all(type(m) in activation_types for m in activations):
        problem = "the layers must alternate Linear, activation, ..., Linear"
    elif any(m.bias is None for m in linears):
        problem = "every Linear must have a bias"
    elif any(a.out_features != b.in_features for a, b in zip(linears, linears[1:])):
        problem = "each Linear's out_features must be the next one's in_features"
    elif len({m.weight.dtype for m in linears}) > 1:
        problem = "all its Linear layers must have one dtype"
    elif any(type(a) is not type(activations[0]) or vars(a) != vars(activations[0]) for a in activations):
        problem = "every activation must be the same, with the same parameters"
    else:
        problem = None
    if problem:
        raise TypeError(
            f"from_torch: {_where(path)} is a Sequential whose one child is named 'layers', which "
            f"maps to tinygrad_edu's MLP, but {problem}. Its layers are:\n{inner}"
        )
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    model = nn.MLP(sizes, activation=type(activations[0]) if activations else "identity",
                   dtype=linears[0].weight.dtype)
    model.layers = nn.Sequential(*layers)  # the converted activations keep their parameters
    return model


def _tg_structure(torch, module, path):
    """Our module tree matching torch's, parameters not yet filled in."""
    kind = type(module)
    if kind is torch.nn.Linear:
        what = f"'{path}.weight'" if path else "the weight"
        return nn.Linear(module.in_features, module.out_features, bias=module.bias is not None,
                         dtype=_numpy_dtype(torch, module.weight, what, "from_torch"))
    if kind is torch.nn.Sequential:
        names = [name for name, _ in module.named_children()]
        prefix = f"{path}." if path else ""
        if names == ["layers"] and type(module.layers) is torch.nn.Sequential:
            return _tg_mlp(torch, module.layers, path)
        if not all(name.isdigit() for name in names):
            raise _unsupported(torch, module, path, f" with named children {names} (ours are numbered)")
        return nn.Sequential(*[_tg_structure(torch, m, f"{prefix}{i}") for i, m in enumerate(module)])
    activation = _tg_activation(torch, module, path)
    if activation is None:
        raise _unsupported(torch, module, path)
    return activation


@contextlib.contextmanager
def _random_state_kept():
    """Building our layers draws their (soon overwritten) initial weights from tg's generator;
    putting its state back means from_torch does not change what later draws give."""
    bits = _random.generator().bit_generator
    state = bits.state
    try:
        yield
    finally:
        bits.state = state


def from_torch(torch_module):
    """The ``tinygrad_edu`` model equal to ``torch_module``, with copies of its weights.

    The reverse of ``to_torch``: ``torch.nn.Linear`` -> ``nn.Linear``, a ``torch.nn.Sequential``
    of supported layers -> ``nn.Sequential`` (keys ``0.weight``, ...), a ``torch.nn.Sequential``
    whose one child ``layers`` is Linear, activation, ..., Linear -> ``nn.MLP`` (what
    ``to_torch`` makes of an MLP), and torch's ReLU, ELU, LeakyReLU, Softplus, Sigmoid, Tanh,
    Identity -> ours. A torch Softplus must have beta=1 and a threshold of at least 20 (torch's
    default): above the threshold torch returns x, which differs from our log(1 + eˣ) by at
    most log(1 + e^(−threshold)), 2.1e-9 at 20. Anything else (Conv2d, Dropout, a subclass of
    Linear, ...) raises TypeError naming the layer, its position and the supported types.

    dtype rule: each of our parameters gets the numpy dtype of torch's (float64 -> float64,
    float32 -> float32). The weights are copied, and tg's random generator is left where it
    was. Needs torch (pip install torch).
    """
    torch = _import_torch("from_torch")
    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(torch_module).__name__}")
    with _random_state_kept():
        model = _tg_structure(torch, torch_module, path="")
    load_torch_state_dict(model, torch_module.state_dict())
    return model


def load_torch_state_dict(model, torch_state_dict):
    """Load a PyTorch state dict (``{name: torch.Tensor}``) into our ``model``, in place.

    Each tensor is converted to numpy (detached from torch's graph, moved to the CPU; the values
    are copied into the model's own arrays, so nothing is shared), then ``model.load_state_dict``
    checks every name, shape and dtype before copying anything: a mismatch raises KeyError or
    ValueError naming the key, and leaves the model as it was. Dtypes are not converted: a
    float32 state dict goes into a float32 model (build ours with ``dtype=np.float32``, or call
    ``.double()`` on the torch model).

    An ``nn.MLP`` also accepts the state dict of a plain ``torch.nn.Sequential`` of the same
    layers (keys ``0.weight`` for our ``layers.0.weight``): when no key starts with ``layers.``,
    the prefix is added to every key before the names are checked. Needs torch (pip install torch).
    """
    torch = _import_torch("load_torch_state_dict")
    if not isinstance(model, nn.Module):
        raise TypeError(f"load_torch_state_dict: expected a tinygrad_edu.nn.Module, got {type(model).__name__}")
    if isinstance(torch_state_dict, torch.nn.Module):
        raise TypeError("load_torch_state_dict: got a torch.nn.Module; pass its .state_dict(), or call from_torch on it")
    if not hasattr(torch_state_dict, "items"):
        raise TypeError(
            f"load_torch_state_dict: expected a state dict (a mapping of names to tensors), "
            f"got {type(torch_state_dict).__name__}"
        )
    arrays = {}
    for key, value in torch_state_dict.items():
        if isinstance(value, torch.Tensor):
            _numpy_dtype(torch, value, f"'{key}'", "load_torch_state_dict")
            value = value.detach().cpu().numpy()
        arrays[key] = value
    ours = dict(model.named_parameters())
    if type(model) is nn.MLP and arrays and not any(key.startswith("layers.") for key in arrays):
        arrays = {f"layers.{key}": value for key, value in arrays.items()}  # a plain Sequential's
    for key, value in arrays.items():
        given = np.asarray(value).dtype
        if key in ours and given != ours[key].dtype:
            raise ValueError(
                f"load_torch_state_dict: '{key}' has dtype {ours[key].dtype} in the model but {given} "
                f"in the state dict; build the model with dtype=np.{given} or convert the torch model "
                f"(.double() / .float()). Nothing was loaded."
            )
    try:
        model.load_state_dict(arrays)
    except (KeyError, ValueError) as err:
        raise type(err)(f"load_torch_state_dict: {err.args[0]}") from err
