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
