"""This engine with ``tg.compile``: the same model, loss and optimiser as ``impl_engine``, the
loss function compiled once (the first step traces it; every later step replays the code)."""
from __future__ import annotations

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from benchmarks import impl_engine

name = "engine-compiled"
memory_method = "tracemalloc"


def _compile(fn, name):
    compile_fn = getattr(tg, "compile", None)
    if compile_fn is None:  # not exported yet: the module itself
        from tinygrad_edu.compiler import compile as compile_fn
    return compile_fn(fn, name=name)


class MLP(impl_engine.MLP):
    def __init__(self, task, X, y, weights):
        super().__init__(task, X, y, weights)
        model, loss_fn = self.model, self.loss_fn
        self.fast_loss = _compile(lambda X, target: loss_fn(model(X), target), "loss")

    def step(self):
        self.opt.zero_grad()
        loss = self.fast_loss(self.X, self.target)
        loss.backward()
        self.opt.step()
        return loss.data


class CNN(MLP, impl_engine.CNN):
    """The engine's CNN with its loss function compiled, as MLP does it."""


class Act:
    def __init__(self, task, x, g):
        self.x = Tensor(x, requires_grad=True)
        self.g = Tensor(g)
        alpha = task.alpha
        self.fast = _compile(lambda x: x.elu(alpha).softplus(), "elu_softplus")

    def step(self):
        self.x.grad = None
        y = self.fast(self.x)
        y.backward(self.g)
        return y.data, self.x.grad.data


class Chain:
    def __init__(self, task):
        n, a, b = task.length, task.a, task.b

        def chain(x):
            for _ in range(n):
                x = x * a + b
            return x

        self.fast = _compile(chain, "chain")

    def step(self):
        x0 = Tensor(1.0, requires_grad=True)
        x = self.fast(x0)
        x.backward()
        return float(x.data), float(x0.grad.data)


def version():
    return impl_engine.version()


def available():
    why = impl_engine.available()
    if why:
        return why
    if getattr(tg, "compile", None) is None:
        try:
            from tinygrad_edu.compiler import compile  # noqa: F401
        except ImportError as e:
            return f"tinygrad_edu.compiler not importable ({e})"
    return None
