"""PyTorch eager on the CPU, written as its documentation shows (nn.Sequential, F.*, optim.SGD)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

name = "torch"
memory_method = "torch.profiler"


class MLP:
    def __init__(self, task, X, y, weights):
        dtype = getattr(torch, task.dtype)
        layers = []
        for i, (W, b) in enumerate(weights):
            lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.X = torch.from_numpy(X)
        self.target = torch.from_numpy(y)
        self.loss_fn = {"mse": F.mse_loss, "bce": F.binary_cross_entropy_with_logits, "ce": F.cross_entropy}[task.loss]
        self.opt = torch.optim.SGD(self.model.parameters(), lr=task.lr)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.X), self.target)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def params(self):
        return [p.detach().numpy().copy() for p in self.model.parameters()]


class CNN(MLP):
    """conv-ReLU-pool twice, flatten, linear: nn.Sequential as PyTorch's tutorials build it."""

    def __init__(self, task, X, y, weights):
        dtype = getattr(torch, task.dtype)
        nn = torch.nn
        (c0, c1, c2), k = task.channels, task.flat
        self.model = nn.Sequential(
            nn.Conv2d(c0, c1, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(k, task.classes, dtype=dtype))
        params = list(self.model.parameters())
        with torch.no_grad():
            for p, arr in zip(params, [a for W, b in weights for a in (W, b)], strict=True):
                p.copy_(torch.from_numpy(arr))
        self.X = torch.from_numpy(X)
        self.target = torch.from_numpy(y)
        self.loss_fn = F.cross_entropy
        self.opt = torch.optim.SGD(params, lr=task.lr)


class Act:
    def __init__(self, task, x, g):
        self.x = torch.from_numpy(x.copy()).requires_grad_()
        self.g = torch.from_numpy(g)
        self.alpha = task.alpha

    def step(self):
        self.x.grad = None
        y = F.softplus(F.elu(self.x, self.alpha))
        y.backward(self.g)
        return y.detach().numpy(), self.x.grad.numpy()


class Chain:
    def __init__(self, task):
        self.n, self.a, self.b = task.length, task.a, task.b

    def step(self):
        a, b = self.a, self.b
        x0 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        x = x0
        for _ in range(self.n):
            x = x * a + b
        x.backward()
        return float(x.detach()), float(x0.grad)


def peak_memory(step, mark="tinygrad_edu_bench_step"):
    """Peak bytes held during one step by what the training loop allocated itself.

    The same quantity as ``harness.peak_tracemalloc`` (gradients, activations, temporaries,
    and what the previous step left alive; not parameters or data), but PyTorch's CPU
    tensors do not go through tracemalloc, so this reads the allocation and free events
    of ``torch.profiler`` (profile_memory=True). Two steps are profiled: the running total
    starts at the first, and its maximum during the second (marked) step is the answer.
    """
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True):
        pass  # the first profiler start is slow and prints; get it out of the way
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
        with record_function(mark):
            step()
    nodes, todo = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while todo:
        n = todo.pop()
        nodes.append(n)
        todo.extend(n.children)
    window = [n for n in nodes if n.name == mark]
    if len(window) != 1:
        raise RuntimeError("torch.profiler: could not find the marked step")
    t0, t1 = window[0].start_time_ns, window[0].end_time_ns
    events = sorted((n.start_time_ns, n.extra_fields.alloc_size) for n in nodes if n.typed[0] == _EventType.Allocation)
    total = peak = 0
    for t, size in events:  # size < 0 for a free
        if t > t1:
            break
        total += size
        if t >= t0:
            peak = max(peak, total)
    return peak


def version():
    return torch.__version__


def available():
    return None

