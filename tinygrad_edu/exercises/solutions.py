"""Reference solutions of the exercises, one function each, for the teacher and the tests.

Each function is written exactly as it would stand in the student's file (it uses the
names that file imports: ``np``, ``tg``, and in the graph exercises ``Node`` and
``topological_order``), so that ``fill_in`` can put its source in place of the stub.
Students: try the exercise first; the grader explains every failure.
"""
import inspect
import textwrap

import numpy as np

import tinygrad_edu as tg


def source(name):
    """The source text of the reference solution ``name`` (a function of this module)."""
    fn = globals().get(name)
    if not inspect.isfunction(fn) or name == "source":
        raise ValueError(f"solutions.source: there is no reference solution called {name!r}")
    return textwrap.dedent(inspect.getsource(fn))


# --- the lecture's XOR network -----------------------------------------------------------
def xor_weights():
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])  # the lecture's weights: both hidden units see x1 + x2
    c = np.array([0.0, -1.0])  # the second unit only fires when both inputs are 1
    w2 = np.array([1.0, -2.0])  # x1 + x2, minus twice the "both" unit
    b = 0.0
    return W1, c, w2, b


# --- backward rules: given g = ∂L/∂z and the inputs, return ∂L/∂input --------------------
def mul_backward(g, x, y):
    return g * y, g * x


def div_backward(g, x, y):
    return g / y, -g * x / y**2


def pow_backward(g, x, p):
    return g * p * x ** (p - 1)


def exp_backward(g, x):
    return g * np.exp(x)


def log_backward(g, x):
    return g / x


def sum_backward(g, x, axis=None):
    if axis is None:
        axis = tuple(range(x.ndim))
    kept = np.expand_dims(g, axis)  # put the summed axes back, with size 1
    return np.broadcast_to(kept, x.shape).copy()


def max_backward(g, x, axis=None):
    if axis is None:
        axis = tuple(range(x.ndim))
    is_max = x == x.max(axis=axis, keepdims=True)
    ties = is_max.sum(axis=axis, keepdims=True)  # how many elements share each maximum
    return np.expand_dims(g, axis) * is_max / ties


def matmul_backward(g, x, y):
    return g @ y.T, x.T @ g


def unbroadcast(g, shape):
    lead = g.ndim - len(shape)  # axes that broadcasting added in front
    g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True)


# --- the graph: order and walk ------------------------------------------------------------
def topological_order(root):
    """The nodes root depends on, inputs before outputs (an iterative depth-first search)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:  # every parent is in `order` already
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # come back to it after its parents
            stack.extend((p, False) for p in node.parents if p not in visited)
    return order


def backward(root):
    root.grad = 1.0
    for node in reversed(topological_order(root)):  # a node's gradient is complete when it comes up
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad  # add: a parent used twice gets both shares


# --- activations as composites of the engine's ops ---------------------------------------
def relu(x):
    return tg.where(x > 0, x, 0.0)  # a select: slope 0 at x = 0


def elu(x, alpha=1.0):
    positive = x > 0
    x_neg = tg.where(positive, 0.0, x)  # min(x, 0), so exp never sees a large x
    return tg.where(positive, x, alpha * (x_neg.exp() - 1.0))


def softplus(x):
    m = tg.where(x > 0, x, 0.0).detach()  # max(x, 0), a constant
    return m + ((x - m).exp() + (-m).exp()).log()  # every exponent ≤ 0


# --- losses ------------------------------------------------------------------------------
def mse_loss(pred, target):
    return np.mean((pred - target) ** 2)


def bce_with_logits(logits, target):
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))  # log(1 + eˣ), stably
    return np.mean(softplus - logits * target)


def cross_entropy(logits, labels):
    m = logits.max(axis=1, keepdims=True)  # per row: shift so the largest logit is 0
    logsumexp = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    picked = logits[np.arange(len(labels)), labels]
    return np.mean(logsumexp - picked)


# --- optimisers ----------------------------------------------------------------------------
def sgd_momentum_step(p, g, buf, lr, momentum):
    buf = g.copy() if buf is None else momentum * buf + g
    return p - lr * buf, buf


def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
