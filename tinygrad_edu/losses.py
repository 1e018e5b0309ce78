"""The losses: composites, mean over the batch, PyTorch's formulas (``nn.mse_loss``, ...).

Each is a few primitive ops, so its gradient comes from the chain rule alone; each refuses a
target whose shape differs from the prediction's (it would broadcast silently).
"""
from __future__ import annotations

import numpy as np

from . import convert
from .modes import composite
from .tensor import Tensor


def _target(target, pred, loss):
    """The target as a constant tensor of pred's dtype (when given as an array), checked to
    have pred's shape: a (4, 1) prediction against a (4,) target would broadcast to (4, 4)."""
    target = target if isinstance(target, Tensor) else convert.lift(target, pred)
    if target.shape != pred.shape:
        raise ValueError(
            f"{loss}: the prediction has shape {pred.shape} but the target has shape {target.shape}; "
            f"they must be equal (reshape one of them, e.g. target.reshape({', '.join(map(str, pred.shape))}))"
        )
    return target


def _pred(x):
    return x if isinstance(x, Tensor) else Tensor(x)


@composite
def mse_loss(pred, target):
    """Mean squared error: L = (1/n) Σᵢ (ŷᵢ − yᵢ)², so ∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/n."""
    pred = _pred(pred)
    diff = pred - _target(target, pred, "mse_loss")
    return (diff * diff).mean()


@composite
def binary_cross_entropy_with_logits(logits, target):
    """Binary cross-entropy of σ(x) against y ∈ [0, 1], mean over all elements:

        L = −(1/n) Σᵢ [yᵢ log σ(xᵢ) + (1 − yᵢ) log(1 − σ(xᵢ))] = (1/n) Σᵢ (1 − yᵢ)xᵢ + softplus(−xᵢ)

    using log σ(x) = −softplus(−x) and log(1 − σ(x)) = −softplus(x) = −x − softplus(−x). The
    second form never takes the log of 0, so it is finite at logits of ±1000, and it is
    PyTorch's, so an infinite logit gives PyTorch's inf or nan. ∂L/∂xᵢ = (σ(xᵢ) − yᵢ)/n.
    """
    x = _pred(logits)
    y = _target(target, x, "binary_cross_entropy_with_logits")
    return ((1.0 - y) * x + (-x).softplus()).mean()


@composite
def cross_entropy(logits, labels):
    """Softmax cross-entropy with integer class labels, mean over the batch:

        L = −(1/n) Σᵢ log softmax(xᵢ)[labelᵢ],   ∂L/∂xᵢ = (softmax(xᵢ) − onehot(labelᵢ))/n

    ``logits`` has shape (n, classes); ``labels`` holds n integers in [0, classes), as a
    numpy array, a list or an integer Tensor. log_softmax is computed stably (logsumexp).
    """
    x = _pred(logits)
    if x.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (batch, classes), got shape {x.shape}")
    n, classes = x.shape
    labels = np.asarray(labels)  # integer class indices (a Tensor gives its array)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: labels must be integer class indices, got dtype {labels.dtype}"
            + (" (a Tensor made from integers stores float64; pass a numpy integer array)"
               if labels.dtype.kind == "f" else "")
        )
    if labels.shape != (n,):
        raise ValueError(
            f"cross_entropy: {n} rows of logits (shape {x.shape}) need {n} labels in a 1-D array, "
            f"got labels of shape {labels.shape}"
        )
    if n and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(f"cross_entropy: label {bad} is out of range for {classes} classes (valid: 0 to {classes - 1})")
    picked = x.log_softmax(axis=1)[np.arange(n), labels]  # log p of the right class, per row
    return -picked.mean()
