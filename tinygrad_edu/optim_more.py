"""More optimisers (RMSprop, AdamW) and learning-rate schedules (StepLR, CosineAnnealingLR),
re-exported by ``optim``. PyTorch's update rules, operation for operation, so the same
model and hyper-parameters follow the same trajectory (tests/test_breadth_optim.py checks
it step for step against torch).

A schedule changes ``optimizer.lr`` once per epoch:

    opt = optim.AdamW(model.parameters(), lr=1e-3)
    sched = optim.CosineAnnealingLR(opt, T_max=100)
    for epoch in range(100):
        ...  # zero_grad, backward, opt.step() for each batch
        sched.step()
"""
from __future__ import annotations

import math

import numpy as np

from .optim import Adam, Optimizer, hyperparameter


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

        g = g + weight_decay · p
        v = α v + (1 − α) g²                        (v starts at 0)
        v̄ = v − m²  with m = α m + (1 − α) g        (only if centered: the variance)
        b = momentum · b + g / (√v̄ + eps);  p = p − lr · b    (with momentum)
        p = p − lr · g / (√v̄ + eps)                           (without)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr)
        self.alpha = hyperparameter("alpha", alpha, "RMSprop", hi=1.0)
        self.eps = hyperparameter("eps", eps, "RMSprop")
        self.weight_decay = hyperparameter("weight_decay", weight_decay, "RMSprop")
        self.momentum = hyperparameter("momentum", momentum, "RMSprop")
        self.centered = bool(centered)
        n = len(self.params)
        self.square_avg, self.grad_avg, self.buffers = [None] * n, [None] * n, [None] * n

    def step(self):
        """One update of every parameter that has a gradient."""
        lr, alpha, eps, wd, mom = self.lr, self.alpha, self.eps, self.weight_decay, self.momentum
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if wd:
                g = g + wd * p.data
            if self.square_avg[i] is None:
                self.square_avg[i] = np.zeros_like(p.data)
                self.grad_avg[i] = np.zeros_like(p.data) if self.centered else None
                self.buffers[i] = np.zeros_like(p.data) if mom > 0 else None
            v = self.square_avg[i]
            v *= alpha
            v += (1.0 - alpha) * g * g
            if self.centered:
                m = self.grad_avg[i]
                m += (g - m) * (1.0 - alpha)
                avg = np.sqrt(v - m * m)
            else:
                avg = np.sqrt(v)
            avg += eps
            if mom > 0:
                buf = self.buffers[i]
                buf *= mom
                buf += g / avg
                p.data -= lr * buf
            else:
                p.data -= lr * (g / avg)
            p.version += 1


class AdamW(Adam):
    """Adam with *decoupled* weight decay (Loshchilov and Hutter): before the Adam update,
    every parameter shrinks by the factor 1 − lr · weight_decay, instead of weight_decay · p
    being added to the gradient (which Adam would then rescale). PyTorch's default
    weight_decay for AdamW is 0.01."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay=0.0)
        self.decoupled_weight_decay = hyperparameter("weight_decay", weight_decay, "AdamW")

    def step(self):
        """Shrink each parameter that has a gradient, then take Adam's step."""
        shrink = 1.0 - self.lr * self.decoupled_weight_decay
        if shrink != 1.0:
            for p in self.params:
                if p.grad is not None:
                    p.data *= shrink
        super().step()


class LRScheduler:
    """What the schedules share: the optimiser, its initial lr and the epoch counter."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimiser such as optim.SGD(...), "
                            f"got {type(optimizer).__name__}")
        self.optimizer, self.base_lr, self.last_epoch = optimizer, optimizer.lr, 0

    def step(self):
        """Advance one epoch and set the optimiser's lr for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.next_lr(self.optimizer.lr)

    def get_last_lr(self):
        """The current learning rate, as a one-element list (PyTorch's: one per group)."""
        return [self.optimizer.lr]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: lr = base_lr · gamma^⌊epoch/step_size⌋."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, hyperparameter("gamma", gamma, "StepLR")

    def next_lr(self, lr):
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from base_lr down to eta_min over T_max epochs (and back up over
    the next T_max, and so on):

        lr(t) = eta_min + (base_lr − eta_min) · (1 + cos(π t / T_max)) / 2

    computed, as PyTorch does, by updating the previous lr with the ratio of consecutive
    values of that formula (so the numbers agree with PyTorch's to the last bit, and a
    change of lr made by hand between epochs carries over)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):  # noqa: N803 - PyTorch's name
        super().__init__(optimizer)
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max, self.eta_min = T_max, hyperparameter("eta_min", eta_min, "CosineAnnealingLR")

    def next_lr(self, lr):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T) % (2 * T) == 0:  # at the bottom: the ratio below would be 0/0
            return lr + (self.base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - lo) + lo
