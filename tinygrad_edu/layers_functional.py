"""The layers of ``layers.py`` as functions: composites of existing ops, so a picture can
open any of them up into its primitives and the gradients come from the chain rule.

Convolution and pooling use **im2col by indexing**: for each of the kh·kw positions of
the kernel, one strided slice of the (padded) input picks the pixel under that position
for every output location; stacking those slices gives the columns, and a convolution is
then one matrix product. The backward pass needs no new rule: each slice sends its
gradient back to the pixels it picked (overlapping windows add up), the stack splits the
gradient, the matmul is a matmul.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import random as _random
from .composites_layout import pad, stack
from .modes import composite
from .tensor import Tensor


def pair(value, name, where, lo=0):
    """An int or a pair of ints (height, width), each ≥ lo."""
    if isinstance(value, numbers.Integral):
        items = (value, value)
    else:
        items = tuple(value) if isinstance(value, tuple | list) else ()
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo for v in items):
        raise ValueError(f"{where}: {name} must be an integer ≥ {lo} or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def columns(x, kernel, stride, padding, dilation, where, fill=0.0):
    """im2col: (N, C, kh·kw, oh, ow), the input under each kernel position at every output
    location, padded with ``fill``. Also returns (oh, ow)."""
    if not isinstance(x, Tensor) or x.ndim != 4:
        got = f"shape {x.shape}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{where}: the input must be a Tensor of shape (batch, channels, height, width), got {got}")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), value=fill)
    height, width = x.shape[2:]
    oh, ow = (height - dh * (kh - 1) - 1) // sh + 1, (width - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"{where}: the kernel {kernel} (dilation {dilation}) does not fit in the "
                         f"padded input of size {height}x{width}")
    picks = [x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
             for i in range(kh) for j in range(kw)]
    return stack(picks, axis=2), (oh, ow)


@composite
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-d cross-correlation (PyTorch's conv2d): x (N, C, H, W), weight (O, C, kh, kw),
    bias (O,). out[n, o] = Σ_{c,i,j} weight[o, c, i, j] · x[n, c, s·y + d·i, s·x + d·j] + bias[o],
    computed as im2col (see the module docstring) and one matmul."""
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be a Tensor of shape (out_channels, in_channels, kh, kw), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    n, c = x.shape[:2] if isinstance(x, Tensor) and x.ndim == 4 else (None, None)
    o, cw, kh, kw = weight.shape
    if c is not None and c != cw:
        raise ValueError(f"conv2d: the input has {c} channels (shape {x.shape}) but the weight expects "
                         f"{cw} (shape {weight.shape})")
    cols, (oh, ow) = columns(x, (kh, kw), pair(stride, "stride", "conv2d", 1), pair(padding, "padding", "conv2d"),
                             pair(dilation, "dilation", "conv2d", 1), "conv2d")
    out = weight.reshape(o, c * kh * kw) @ cols.reshape(n, c * kh * kw, oh * ow)
    out = out.reshape(n, o, oh, ow)
    return out if bias is None else out + bias.reshape(1, o, 1, 1)


@composite
def max_pool2d(x, kernel_size, stride=None, padding=0):
    """The largest value in each kh×kw window (padding with −inf). Ties split the gradient
    equally among the tied maxima (this engine's max); PyTorch gives it all to one."""
    kernel = pair(kernel_size, "kernel_size", "max_pool2d", 1)
    stride = kernel if stride is None else pair(stride, "stride", "max_pool2d", 1)
    padding = pair(padding, "padding", "max_pool2d")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel {kernel}")
    cols, _ = columns(x, kernel, stride, padding, (1, 1), "max_pool2d", fill=-np.inf)
    return cols.max(axis=2)


@composite
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean of each kh×kw window; padded zeros count (PyTorch's count_include_pad=True)."""
    kernel = pair(kernel_size, "kernel_size", "avg_pool2d", 1)
    stride = kernel if stride is None else pair(stride, "stride", "avg_pool2d", 1)
    padding = pair(padding, "padding", "avg_pool2d")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"avg_pool2d: padding {padding} must be at most half the kernel {kernel}")
    cols, _ = columns(x, kernel, stride, padding, (1, 1), "avg_pool2d")
    return cols.mean(axis=2)


@composite
def dropout(x, p=0.5, training=True):
    """In training, each element is zeroed with probability p and the rest scaled by
    1/(1 − p), so the expected value is unchanged; the gradient is the same mask. Outside
    training (or with p = 0) it is the identity. The mask comes from ``tg.manual_seed``'s
    generator (PyTorch's random stream is different, so masks differ from PyTorch's)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _random.generator().random(x.shape) >= p
    return x * Tensor(keep / (1.0 - p), dtype=x.dtype)


@composite
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) axes: (x − mean)/√(var + eps), with the
    biased variance (as PyTorch), then scale by weight and shift by bias."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: the input's last axes {x.shape} do not match normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    out = centred / ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** 0.5
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


@composite
def batch_norm(x, mean, var, weight=None, bias=None, eps=1e-5):
    """(x − mean)/√(var + eps)·weight + bias, per channel (axis 1 of (N, C) or (N, C, L)).
    ``mean`` and ``var`` are either the batch's (training, differentiated through) or the
    running statistics (evaluation, constants)."""
    view = (1, -1) + (1,) * (x.ndim - 2)
    out = (x - mean.reshape(view)) / (var.reshape(view) + eps) ** 0.5
    if weight is not None:
        out = out * weight.reshape(view)
    return out if bias is None else out + bias.reshape(view)


def embedding(indices, weight):
    """The rows of ``weight`` picked by integer ``indices`` (any shape): one indexing op, whose
    backward adds each row's gradients (a row picked twice gets both)."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}"
                        + (" (Tensor([...]) stores float64; pass np.array([...]) or dtype=np.int64)"
                           if idx.dtype.kind == "f" else ""))
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings (valid: 0 to {n - 1})")
    return weight[idx]
