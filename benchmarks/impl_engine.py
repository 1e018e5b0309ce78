"""This engine, used the way API.md tells a user to use it (nn.MLP, the losses, optim.SGD)."""
from __future__ import annotations

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor

name = "engine"
memory_method = "tracemalloc"


class MLP:
    def __init__(self, task, X, y, weights):
        from tinygrad_edu import nn, optim

        try:  # a dtype argument is this implementation's extra, not part of API.md
            self.model = nn.MLP(task.sizes, activation="relu", dtype=np.dtype(task.dtype))
        except TypeError:
            self.model = nn.MLP(task.sizes, activation="relu")
        _load_weights(self.model, weights, f"nn.MLP({task.sizes})")
        self.X = Tensor(X)
        if task.loss == "ce":
            self.target = y  # integer class labels (numpy array)
            self.loss_fn = nn.cross_entropy
        else:
            self.target = Tensor(y)
            self.loss_fn = nn.mse_loss if task.loss == "mse" else nn.binary_cross_entropy_with_logits
        self.opt = optim.SGD(self.model.parameters(), lr=task.lr)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.X), self.target)
        loss.backward()
        self.opt.step()
        return loss.data  # the array only: the graph is freed when the step returns

    def params(self):
        return [p.data.copy() for p in self.model.parameters()]


def _load_weights(model, weights, what):
    """Copy the task's shared initial weights [(W, b), ...] into ``model``'s parameters, in
    the task's dtype (float32 stays float32)."""
    named = list(model.named_parameters())
    if len(named) != 2 * len(weights):
        raise RuntimeError(f"{what} has {len(named)} parameters, expected {2 * len(weights)}")
    for (pname, p), arr in zip(named, [a for W, b in weights for a in (W, b)]):
        if p.shape != arr.shape:
            raise RuntimeError(f"{what}: {pname} has shape {p.shape}, expected {arr.shape}")
        if p.dtype == arr.dtype:
            np.copyto(p.data, arr)
        else:
            p.data = arr.copy()


class CNN(MLP):
    """conv-ReLU-pool twice, flatten, linear, built from the engine's layers (nn.Conv2d,
    nn.MaxPool2d, nn.Flatten); the step and the parameters as MLP's."""

    def __init__(self, task, X, y, weights):
        from tinygrad_edu import nn, optim

        dt = np.dtype(task.dtype)
        (c0, c1, c2), k = task.channels, task.flat
        self.model = nn.Sequential(
            nn.Conv2d(c0, c1, 3, padding=1, dtype=dt), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, dtype=dt), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(k, task.classes, dtype=dt))
        _load_weights(self.model, weights, "the CNN")
        self.X = Tensor(X)
        self.target = y  # integer class labels (numpy array)
        self.loss_fn = nn.cross_entropy
        self.opt = optim.SGD(self.model.parameters(), lr=task.lr)


class Act:
    def __init__(self, task, x, g):
        self.x = Tensor(x, requires_grad=True)
        self.g = Tensor(g)
        self.alpha = task.alpha

    def step(self):
        self.x.grad = None
        y = self.x.elu(self.alpha).softplus()
        y.backward(self.g)
        return y.data, self.x.grad.data


class Chain:
    def __init__(self, task):
        self.n, self.a, self.b = task.length, task.a, task.b

    def step(self):
        a, b = self.a, self.b
        x0 = Tensor(1.0, requires_grad=True)
        x = x0
        for _ in range(self.n):
            x = x * a + b
        x.backward()
        return float(x.data), float(x0.grad.data)


def version():
    return getattr(tg, "__version__", "?")


def available():
    try:
        from tinygrad_edu import nn, optim  # noqa: F401
    except ImportError as e:
        return f"tinygrad_edu.nn/optim not importable ({e})"
    return None

