"""The floor: hand-written numpy forward and hand-derived backward, no graph at all.

This is what a competent numpy programmer would write for each task: the same math as the
engine (same loss formulas, same stable forms, same update rule), results written in place
where that is natural, and no trick that an autodiff engine could not also use (no fused
closed forms, no skipped work). Any numpy-based engine pays at least this much per step.
"""
from __future__ import annotations

import numpy as np

name = "floor"
memory_method = "tracemalloc"


class MLP:
    """Linear layers y = a @ W.T + b with ReLU between them, trained by plain SGD."""

    def __init__(self, task, X, y, weights):
        self.W = [W.copy() for W, _ in weights]
        self.b = [b.copy() for _, b in weights]
        self.X, self.y, self.loss, self.lr = X, y, task.loss, task.lr
        self.rows = np.arange(len(X))

    def step(self):
        W, b, lr = self.W, self.b, self.lr
        last = len(W) - 1
        # forward: keep each layer's input for the backward pass
        acts = [self.X]
        for i in range(len(W)):
            z = acts[-1] @ W[i].T
            z += b[i]
            if i < last:
                np.maximum(z, 0, out=z)  # ReLU in place: relu(z) > 0 exactly where z > 0
            acts.append(z)
        loss, dz = self._loss_and_grad(acts.pop())
        # backward and update, last layer first
        for i in range(last, -1, -1):
            a = acts[i]
            dW = dz.T @ a
            db = dz.sum(axis=0)
            if i > 0:
                dz = dz @ W[i]  # before W[i] changes
                dz *= a > 0  # ReLU'
            dW *= lr
            W[i] -= dW
            db *= lr
            b[i] -= db
        return loss

    def _loss_and_grad(self, z):
        n = len(z)
        y = self.y
        if self.loss == "mse":  # mean((z - y)²); ∂/∂z = 2(z - y)/size
            d = z - y
            loss = float(np.vdot(d, d)) / d.size
            d *= 2.0 / d.size
            return loss, d
        if self.loss == "bce":  # mean(max(z,0) - z·y + log(1 + e^-|z|)); ∂/∂z = (σ(z) - y)/n
            e = np.exp(-np.abs(z))
            loss = float((np.maximum(z, 0) - z * y + np.log1p(e)).mean())
            sig = np.where(z >= 0, 1.0, e) / (1.0 + e)
            sig -= y
            sig *= 1.0 / n
            return loss, sig
        # cross-entropy: mean(logsumexp(z) - z[label]); ∂/∂z = (softmax(z) - onehot)/n
        s = z - z.max(axis=1, keepdims=True)
        e = np.exp(s)
        se = e.sum(axis=1, keepdims=True)
        loss = float(np.log(se).sum() - s[self.rows, y].sum()) / n
        e /= se
        e[self.rows, y] -= 1.0
        e *= 1.0 / n
        return loss, e

    def params(self):
        return [a.copy() for W, b in zip(self.W, self.b) for a in (W, b)]


class CNN(MLP):
    """conv 3x3 → ReLU → max-pool 2, twice, then linear; cross-entropy and SGD as MLP.

    Activations are kept channels-last, (N, H, W, C): im2col is then one copy of a strided
    window view (``sliding_window_view``), each convolution is one matmul whose result
    already has that layout, and pooling is a reshape and a max. The input is put in that
    layout once, when the task is built (with one channel it is the same memory anyway).
    """

    def __init__(self, task, X, y, weights):
        super().__init__(task, np.ascontiguousarray(X.transpose(0, 2, 3, 1)), y, weights)

    def step(self):
        W, b, lr = self.W, self.b, self.lr
        a, saved = self.X, []
        for i in range(2):  # conv (one matmul on the im2col matrix), ReLU, 2x2 max-pool
            n, h, w, _ = a.shape
            cols = _im2col(a)  # (N·H·W, 9·C)
            z = cols @ _as_matrix(W[i]).T  # (N·H·W, O)
            z += b[i]
            np.maximum(z, 0, out=z)
            z = z.reshape(n, h // 2, 2, w // 2, 2, -1)  # each 2x2 window on axes 2 and 4
            rows = np.maximum(z[:, :, 0], z[:, :, 1])  # two elementwise maxima: a ~4x faster
            pooled = np.maximum(rows[:, :, :, 0], rows[:, :, :, 1])  # than z.max(axis=(2, 4))
            saved.append((a.shape, cols, z, pooled))
            a = pooled
        n, h, w, c = a.shape
        flat = a.transpose(0, 3, 1, 2).reshape(n, -1)  # PyTorch's flatten order: (C, H, W)
        logits = flat @ W[2].T
        logits += b[2]
        loss, dz = self._loss_and_grad(logits)
        # backward and update, last layer first
        da = (dz @ W[2]).reshape(n, c, h, w).transpose(0, 2, 3, 1)  # back to (N, H, W, C)
        self._update(2, dz.T @ flat, dz.sum(axis=0))
        for i in (1, 0):
            shape, cols, z, pooled = saved[i]
            # pool': the gradient goes to each window's maximum; ReLU': only where z > 0.
            # (Tied maxima all get it; after ReLU a tie is a window of zeros, which ReLU' drops.)
            dz = (z == pooled[:, :, None, :, None, :]) * da[:, :, None, :, None, :]
            dz *= z > 0
            dz = dz.reshape(len(cols), -1)  # (N·H·W, O)
            if i > 0:
                da = _col2im(dz @ _as_matrix(W[i]), shape)  # before W[i] changes
            dW = (dz.T @ cols).reshape(len(W[i]), 3, 3, -1).transpose(0, 3, 1, 2)  # to (O, C, 3, 3)
            self._update(i, dW, dz.sum(axis=0))
        return loss

    def _update(self, i, dW, db):
        dW *= self.lr
        self.W[i] -= dW
        db *= self.lr
        self.b[i] -= db


def _as_matrix(W):
    """A conv weight (O, C, 3, 3) as the (O, 9·C) matrix whose columns are in _im2col's
    order (kh, kw, C): a copy of a few hundred numbers."""
    return W.transpose(0, 2, 3, 1).reshape(len(W), -1)


def _im2col(a):
    """(N, H, W, C) → (N·H·W, 9·C): the 3x3 window (zero padding 1) around every pixel,
    in the order (kh, kw, C), so that the one copy moves runs of C contiguous values.
    (A zero-filled buffer is ~25 µs cheaper here than np.pad.)"""
    n, h, w, c = a.shape
    padded = np.zeros((n, h + 2, w + 2, c), dtype=a.dtype)
    padded[:, 1:-1, 1:-1] = a
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # (N, H, W, C, 3, 3)
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, 9 * c)  # the one copy


def _col2im(dcols, shape):
    """The adjoint of _im2col: add each window's gradient back onto the pixels it came from."""
    n, h, w, c = shape
    d = dcols.reshape(n, h, w, 3, 3, c)
    dpadded = np.zeros((n, h + 2, w + 2, c), dtype=dcols.dtype)
    for i in range(3):
        for j in range(3):
            dpadded[:, i:i + h, j:j + w, :] += d[:, :, :, i, j, :]
    return dpadded[:, 1:-1, 1:-1, :]


class Act:
    """y = softplus(elu(x)) and dx = g·∂y/∂x, with the same stable forms as the engine.

    Written without masked selects (np.where, copyto(where=)) and without log1p: on a
    random sign pattern those cost ~1.4 ms and ~1.2 ms per 256k float32 values here,
    against ~20-90 µs for plain arithmetic, exp and log. The identities used are exact and
    open to any engine: elu(x) = max(x, 0) + α(e^min(x,0) − 1), and on x > 0 e^min(x,0) = 1.
    """

    def __init__(self, task, x, g):
        self.x, self.g, self.alpha = x, g, task.alpha

    def step(self):
        x, g, alpha = self.x, self.g, self.alpha
        # ELU: h = max(x, 0) + α(e - 1) with e = e^min(x,0)  (e = 1 where x > 0)
        e = np.minimum(x, 0)
        np.exp(e, out=e)
        h = e - 1
        h *= alpha
        h += np.maximum(x, 0)
        # Softplus: y = max(h, 0) + log(1 + e^-|h|)
        t = np.abs(h)
        np.negative(t, out=t)
        np.exp(t, out=t)
        t += 1
        np.log(t, out=t)
        y = np.maximum(h, 0)
        y += t
        # backward: softplus'(h) = σ(h) = e^(h - softplus(h));
        # elu'(x) = 1 where x > 0, α·e elsewhere = α·e + (1 - α)·[x > 0]
        dx = h - y
        np.exp(dx, out=dx)
        dx *= g
        e *= alpha
        if alpha != 1:
            e += np.multiply(x > 0, 1 - alpha, dtype=e.dtype)
        dx *= e
        return y, dx


class Chain:
    """x ← x·a + b, n times, then dx_n/dx_0 by the chain rule, one link at a time."""

    def __init__(self, task):
        self.n, self.a, self.b = task.length, task.a, task.b

    def step(self):
        a, b = self.a, self.b
        x = np.array(1.0)
        for _ in range(self.n):
            x = x * a + b
        g = np.array(1.0)
        for _ in range(self.n):  # ∂(x·a + b)/∂x = a, link by link
            g = g * a
        return float(x), float(g)


def version():
    return np.__version__


def available():
    return None
