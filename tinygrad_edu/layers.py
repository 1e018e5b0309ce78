"""More layers (re-exported by ``nn``): Dropout, LayerNorm, BatchNorm1d, Embedding, Conv2d,
MaxPool2d, AvgPool2d, Flatten, and ``clip_grad_norm_``.

Each layer holds its parameters and calls a composite of ``layers_functional.py``, so its
gradient comes from the chain rule. Initialisation is PyTorch's per layer (see ``init.py``).
Dropout and BatchNorm1d read ``self.training``, which ``model.train()`` and
``model.eval()`` set on every sub-module.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import init
from . import layers_functional as F
from .modes import no_grad
from .nn import Module
from .tensor import Tensor

__all__ = ["Dropout", "LayerNorm", "BatchNorm1d", "Embedding", "Conv2d", "MaxPool2d", "AvgPool2d",
           "Flatten", "clip_grad_norm_", "conv2d", "max_pool2d", "avg_pool2d", "dropout", "layer_norm",
           "embedding", "init"]

conv2d, max_pool2d, avg_pool2d = F.conv2d, F.max_pool2d, F.avg_pool2d
dropout, layer_norm, embedding = F.dropout, F.layer_norm, F.embedding


def positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def parameter(shape, dtype, name):
    """A new parameter (zeros until an initialiser fills it), labelled for pictures."""
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=True, label=name)


class Dropout(Module):
    """Zero each element with probability p in training (scaling the rest by 1/(1 − p));
    the identity after ``eval()``."""

    def __init__(self, p=0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def __repr__(self):
        return f"Dropout(p={self.p})"


class LayerNorm(Module):
    """Normalise each sample over its last axes (``normalized_shape``), then scale and shift
    by learned weight (ones) and bias (zeros)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float64):
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        self.normalized_shape = tuple(positive_int(n, "normalized_shape", "LayerNorm") for n in shape)
        self.eps = float(eps)
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = init.ones_(parameter(self.normalized_shape, dtype, "weight"))
            self.bias = init.zeros_(parameter(self.normalized_shape, dtype, "bias"))

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


class BatchNorm1d(Module):
    """Normalise each channel (axis 1 of (N, C) or (N, C, L)) by the batch's mean and
    biased variance in training, updating running estimates
    (running = (1 − momentum)·running + momentum·batch, with the *unbiased* variance, as
    PyTorch); after ``eval()`` use the running estimates. Then scale and shift.
    The running statistics are plain tensors (not parameters), so ``state_dict`` does not
    hold them."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        self.num_features = positive_int(num_features, "num_features", "BatchNorm1d")
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = self.bias = None
        if affine:
            self.weight = init.ones_(parameter(num_features, dtype, "weight"))
            self.bias = init.zeros_(parameter(num_features, dtype, "bias"))
        self.running_mean = Tensor(np.zeros(num_features, dtype=dtype), label="running_mean")
        self.running_var = Tensor(np.ones(num_features, dtype=dtype), label="running_var")

    def forward(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape (N, "
                             f"{self.num_features}) or (N, {self.num_features}, L), got {x.shape}")
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.eps)
        axes = (0,) if x.ndim == 2 else (0, 2)
        n = x.size // self.num_features
        if n < 2:
            raise ValueError(f"BatchNorm1d: training needs more than one value per channel, got input "
                             f"of shape {x.shape} (call eval() to use the running statistics)")
        mean = x.mean(axis=axes)
        var = x.var(axis=axes, correction=0)
        with no_grad():  # the running estimates are bookkeeping, not part of the graph
            m = self.momentum
            self.running_mean = self.running_mean * (1 - m) + mean.detach() * m
            self.running_var = self.running_var * (1 - m) + var.detach() * (m * n / (n - 1))
        return F.batch_norm(x, mean, var, self.weight, self.bias, self.eps)

    def __repr__(self):
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim`` (standard normal, as
    PyTorch); calling it with integer indices picks rows."""

    def __init__(self, num_embeddings, embedding_dim, dtype=np.float64):
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = init.normal_(parameter((num_embeddings, embedding_dim), dtype, "weight"))

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class Conv2d(Module):
    """2-d convolution (cross-correlation) of (N, C, H, W) inputs; weight (O, C, kh, kw) and
    bias uniform on ±1/√(C·kh·kw), as PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, dtype=np.float64):
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = F.pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = F.pair(stride, "stride", "Conv2d", 1)
        self.padding = F.pair(padding, "padding", "Conv2d")
        self.dilation = F.pair(dilation, "dilation", "Conv2d", 1)
        self.weight = parameter((out_channels, in_channels) + self.kernel_size, dtype, "weight")
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = None
        if bias:
            bound = 1.0 / math.sqrt(init.fans(self.weight, "Conv2d")[0])
            self.bias = init.uniform_(parameter(out_channels, dtype, "bias"), -bound, bound)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class MaxPool2d(Module):
    """The maximum of each window (see ``layers_functional.max_pool2d``)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(Module):
    """The mean of each window (see ``layers_functional.avg_pool2d``)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """Merge the axes start_dim..end_dim (by default all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        from .composites_layout import flatten
        return flatten(x, self.start_dim, self.end_dim)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients in place by min(1, max_norm/(total + 1e-6)), where total is the
    norm of all gradients together (as if concatenated), so that it is at most max_norm.
    Returns the total norm before clipping, as a Tensor (PyTorch's rule, 1e-6 included)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, got {max_norm!r}")
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type!r}")
    grads = [p.grad.data for p in params if isinstance(p, Tensor) and p.grad is not None]
    if not grads:
        return Tensor(0.0)
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        norms = [np.sum(np.abs(g.astype(np.float64)) ** norm_type) ** (1.0 / norm_type) for g in grads]
        total = float(np.sum(np.asarray(norms) ** norm_type) ** (1.0 / norm_type))
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef
    return Tensor(total, dtype=grads[0].dtype)
