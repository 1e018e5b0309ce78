"""The benchmark tasks: sizes, data and initial weights, shared by every implementation.

Every implementation of a task starts from the same numpy arrays (inputs, labels and
weights), so the first training step of each can be checked against the others before
anything is timed: a fast wrong answer must not win.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MLPTask:
    """One training step of an MLP: forward, loss, backward, SGD update."""

    name: str
    title: str
    sizes: list  # [in, hidden..., out]
    batch: int
    loss: str  # "mse" | "bce" | "ce"
    dtype: str  # "float64" | "float32"
    data: str  # "xor" | "moons" | "random"
    lr: float = 0.05
    kind: str = field(default="mlp", init=False)


@dataclass
class ActTask:
    """Forward and backward of ELU then Softplus on one tensor (no optimiser)."""

    name: str
    title: str
    shape: tuple
    dtype: str = "float32"
    alpha: float = 1.0
    kind: str = field(default="act", init=False)


@dataclass
class ChainTask:
    """x = x·a + b repeated ``length`` times from a scalar leaf, forward and backward."""

    name: str
    title: str
    length: int
    a: float = 1.0001
    b: float = 0.001
    kind: str = field(default="chain", init=False)


@dataclass
class CNNTask:
    """One training step of a small CNN on (batch, 1, size, size) images: conv 3x3 (pad 1),
    ReLU, max-pool 2, conv 3x3 (pad 1), ReLU, max-pool 2, flatten, linear; cross-entropy, SGD."""

    name: str
    title: str
    batch: int
    size: int  # image height = width; a multiple of 4 (two 2x2 poolings)
    channels: tuple = (1, 8, 16)  # input, first conv, second conv
    classes: int = 10
    dtype: str = "float32"
    lr: float = 0.01
    loss: str = field(default="ce", init=False)
    kind: str = field(default="cnn", init=False)

    @property
    def flat(self):
        """Features into the linear layer: channels × (size/4)² after the two poolings."""
        return self.channels[-1] * (self.size // 4) ** 2


def make_tasks(tiny=False):
    """The suite. ``tiny`` shrinks every size (for the smoke test; the numbers mean nothing)."""
    if tiny:
        return [
            MLPTask("T1", "XOR 4x2, MLP 2-8-1, MSE, f64", [2, 8, 1], 4, "mse", "float64", "xor"),
            MLPTask("T2", "moons 20x2, MLP 2-4-4-1, BCE, f64", [2, 4, 4, 1], 20, "bce", "float64", "moons"),
            MLPTask("T3", "batch 8, MLP 6-8-8-3, CE, f32", [6, 8, 8, 3], 8, "ce", "float32", "random"),
            MLPTask("T4", "batch 8, MLP 12-16-16-4, CE, f32", [12, 16, 16, 4], 8, "ce", "float32", "random"),
            ActTask("T5", "ELU->Softplus fwd+bwd 8x16 f32", (8, 16)),
            ChainTask("T6a", "scalar chain 100 steps", 100),
            ChainTask("T6b", "scalar chain 1,000 steps", 1000),
            CNNTask("T8", "batch 4, CNN 1x8x8, conv 8, conv 16, linear 64-10, CE, f32", 4, 8),
        ]
    return [
        MLPTask("T1", "XOR 4x2, MLP 2-8-1 ReLU, MSE, f64", [2, 8, 1], 4, "mse", "float64", "xor"),
        MLPTask("T2", "moons 100x2, MLP 2-16-16-1 ReLU, BCE-logits, f64", [2, 16, 16, 1], 100, "bce", "float64", "moons"),
        MLPTask("T3", "batch 64, MLP 64-128-128-10 ReLU, CE, f32", [64, 128, 128, 10], 64, "ce", "float32", "random"),
        MLPTask("T4", "batch 256, MLP 784-512-512-10 ReLU, CE, f32", [784, 512, 512, 10], 256, "ce", "float32", "random"),
        ActTask("T5", "ELU then Softplus, fwd+bwd, 256x1024 f32", (256, 1024)),
        ChainTask("T6a", "scalar chain x=x*1.0001+0.001, 10,000 steps", 10_000),
        ChainTask("T6b", "scalar chain x=x*1.0001+0.001, 100,000 steps", 100_000),
        CNNTask("T8", "batch 32, CNN 1x16x16, conv 8, conv 16 (3x3, pool 2), linear 256-10, CE, f32", 32, 16),
    ]


# ---------------------------------------------------------------------------------------
# Data and weights (numpy only; each implementation converts them to its own types).
# ---------------------------------------------------------------------------------------
def mlp_data(task: MLPTask, seed=0):
    """(X, y): X float of shape (batch, sizes[0]); y float (batch, 1) or int labels (batch,)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(task.dtype)
    if task.data == "xor":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dt)
        y = np.array([[0], [1], [1], [0]], dtype=dt)
    elif task.data == "moons":
        X, y = _moons(task.batch, rng)
        X, y = X.astype(dt), y.astype(dt).reshape(-1, 1)
    else:
        X = rng.standard_normal((task.batch, task.sizes[0])).astype(dt)
        y = rng.integers(0, task.sizes[-1], size=task.batch)
    return X, y


def _moons(n, rng, noise=0.1):
    """Two interleaved half circles (the classic toy data set), n points in all."""
    n1 = n // 2
    t1 = np.pi * rng.random(n1)
    t2 = np.pi * rng.random(n - n1)
    X = np.concatenate([np.stack([np.cos(t1), np.sin(t1)], 1),
                        np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], 1)])
    X += noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n1), np.ones(n - n1)])
    return X, y


def mlp_weights(task: MLPTask, seed=1):
    """[(W, b), ...] with W of shape (out, in), PyTorch's default uniform(±1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(task.dtype)
    layers = []
    for n_in, n_out in zip(task.sizes[:-1], task.sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        W = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(dt)
        b = rng.uniform(-bound, bound, size=(n_out,)).astype(dt)
        layers.append((W, b))
    return layers


def act_data(task: ActTask, seed=2):
    """(x, g): the input (standard normal: both branches of each activation are taken, in a
    random pattern) and the upstream gradient fed to backward."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(task.dtype)
    x = (2.0 * rng.standard_normal(task.shape)).astype(dt)
    g = rng.standard_normal(task.shape).astype(dt)
    return x, g


def cnn_data(task: CNNTask, seed=3):
    """(X, y): X float of shape (batch, 1, size, size), standard normal; y int labels (batch,)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((task.batch, task.channels[0], task.size, task.size)).astype(task.dtype)
    y = rng.integers(0, task.classes, size=task.batch)
    return X, y


def cnn_weights(task: CNNTask, seed=4):
    """[(W, b), ...] for conv1, conv2 (W of shape (out, in, 3, 3)) and the linear layer
    (W of shape (classes, flat)); PyTorch's default uniform(±1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    shapes = [(c_out, c_in, 3, 3) for c_in, c_out in zip(task.channels[:-1], task.channels[1:])]
    shapes.append((task.classes, task.flat))
    layers = []
    for shape in shapes:
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        W = rng.uniform(-bound, bound, size=shape).astype(task.dtype)
        b = rng.uniform(-bound, bound, size=(shape[0],)).astype(task.dtype)
        layers.append((W, b))
    return layers
