"""The lecture's XOR network, in five parts (``python -m tinygrad_edu xor``).

The network: 2 inputs, a hidden layer of 2 ReLU units, 1 output with no activation,

    z = W1 x + c,    h = ReLU(z),    ŷ = w2 h + b,

which is ``nn.MLP([2, 2, 1])`` with ``W1 = layers.0.weight``, ``c = layers.0.bias``,
``w2 = layers.2.weight`` and ``b = layers.2.bias``.

1. The lecture's hand-set weights solve XOR: a table of x, z, h and ŷ = 0 1 1 0.
2. The graph of the forward pass and the MSE loss after ``backward()``, as a picture.
3. Training the same network from a seeded random start until it solves XOR.
4. Why nonlinear activations: with the identity instead of ReLU the network is linear,
   predicts 0.5 everywhere, and its two layers multiply out to one linear map.
5. Optionally, the step-through page of the backward pass.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import datasets, nn, optim
from .draw import RenderError, draw_graph
from .random import manual_seed
from .steps import backward_steps, write_html
from .tensor import Tensor, no_grad

# The lecture's solution (Goodfellow et al., Deep Learning, 6.1).
LECTURE_WEIGHTS = {
    "layers.0.weight": np.array([[1.0, 1.0], [1.0, 1.0]]),  # W1
    "layers.0.bias": np.array([0.0, -1.0]),  # c
    "layers.2.weight": np.array([[1.0, -2.0]]),  # w2
    "layers.2.bias": np.array([0.0]),  # b
}
SOLVED = 0.05  # trained: every prediction within this of its target
ATTEMPT_STEPS = 200  # a random start that has not solved XOR by then is stuck: start again
MAX_ATTEMPTS = 100
LINEAR_STEPS = 1000  # the identity-activation network's training


def names(model):
    """The lecture's names for the parameters, as (name, tensor) pairs for ``draw_graph``."""
    first, last = model.layers[0], model.layers[2]
    return [("W1", first.weight), ("c", first.bias), ("w2", last.weight), ("b", last.bias)]


def lecture_network():
    model = nn.MLP([2, 2, 1])
    model.load_state_dict(LECTURE_WEIGHTS)
    return model


def forward(model, X):
    """Run the network layer by layer, labelling the values as in the lecture."""
    first, activation, last = model.layers
    z = first(X)
    z.label = "z"
    h = activation(z)
    h.label = "h"
    y_hat = last(h)
    y_hat.label = "ŷ"
    return z, h, y_hat


def loss_graph(model):
    """The forward pass and MSE loss on the four XOR points, labelled for pictures."""
    X, y = datasets.xor()
    z, h, y_hat = forward(model, Tensor(X, label="X"))
    loss = nn.mse_loss(y_hat, Tensor(y.reshape(4, 1), label="y"))
    loss.label = "loss"
    return z, h, y_hat, loss


def _row(x, z, h, pred, target):
    """One line of the table (also the header, given strings)."""
    return f"   {x[0]:>4} {x[1]:>4} |{z[0]:>5} {z[1]:>4} |{h[0]:>5} {h[1]:>4} |{pred:>11} {target:>7}"


def _vec(a, digits=3):
    """A 1-D or 2-D array on one line, rounded: [[1, -2.5], [0.333, 0]]."""
    a = np.round(np.asarray(a, dtype=float), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    if a.ndim == 2:
        return "[" + ", ".join(_vec(row, digits) for row in a) + "]"
    return "[" + ", ".join(f"{v:g}" for v in a) + "]"


def _fmt(v):
    return f"{v + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def part1_table(out=print):
    """The hand-set weights on the four points: returns the predictions."""
    model = lecture_network()
    X, y = datasets.xor()
    with no_grad():
        z, h, y_hat = forward(model, Tensor(X))
    out("1. The lecture's hand-set weights: W1 = [[1, 1], [1, 1]], c = [0, -1], w2 = [1, -2], b = 0")
    out("   z = W1 x + c (hidden pre-activations), h = ReLU(z), prediction = w2 h + b\n")
    out(_row(("x1", "x2"), ("z1", "z2"), ("h1", "h2"), "prediction", "target"))
    for i in range(4):
        out(_row([*map(_fmt, X[i])], [*map(_fmt, z.data[i])], [*map(_fmt, h.data[i])],
                 _fmt(y_hat.data[i, 0]), _fmt(y[i])))
    pred = y_hat.data.ravel()
    out(f"\n   predictions: {' '.join(_fmt(p) for p in pred)}   (XOR: {' '.join(_fmt(t) for t in y)}) "
        f"-> {int(np.sum(np.round(pred) == y))}/4 correct")
    return pred


def part2_picture(path, fmt, expand=False, out=print):
    """Draw the hand-set network's graph after backward(); returns the file written."""
    model = lecture_network()
    *_, loss = loss_graph(model)
    loss.backward()
    graph = draw_graph(loss, params=names(model), expand=expand)
    out(f"\n2. The graph of the forward pass and the MSE loss, after loss.backward() (loss = {_fmt(loss.item())}).")
    out("   Every gradient is 0: these weights fit XOR exactly, a minimum of the loss.")
    out("   Boxes are values (orange: parameters, blue: data, red text: gradients); purple ellipses are")
    out("   the Linear layers, relu and mse_loss" + (" opened up into primitive ops." if expand else
                                                     " (--expand opens them up into primitive ops)."))
    try:
        data = graph.pipe(format=fmt)
    except RenderError as e:
        source = path.with_suffix(".gv")
        source.write_text(graph.source, encoding="utf-8")
        out(f"   Could not render the picture: {e}\n   Wrote its DOT source to {source} instead.")
        return source
    path.write_bytes(data)
    out(f"   Wrote {path}")
    return path


def _progress(text, final=False):
    """One progress line, rewritten in place on a terminal."""
    if sys.stdout.isatty():
        print("\r" + text.ljust(78), end="\n" if final else "", flush=True)
    elif final:
        print(text)


def train(model, lr, steps, stop_within=None, attempt=None):
    """Adam on the MSE loss over the four points for at most ``steps`` steps.

    Stops early when every prediction is within ``stop_within`` of its target; returns the
    number of steps taken, or None if it did not get there.
    """
    X, y = datasets.xor()
    X, Y = Tensor(X), y.reshape(4, 1)
    opt = optim.Adam(model.parameters(), lr=lr)
    for step in range(steps + 1):
        pred = model(X)
        loss = nn.mse_loss(pred, Y)
        done = stop_within is not None and np.all(np.abs(pred.data - Y) < stop_within)
        if attempt is not None and (step % 10 == 0 or done):
            _progress(f"   attempt {attempt}: step {step:4d}  loss {loss.item():.5f}")
        if done:
            return step
        if step < steps:
            opt.zero_grad()
            loss.backward()
            opt.step()
    return None


def _dead_units(model):
    X, _ = datasets.xor()
    with no_grad():
        h = model.layers[1](model.layers[0](Tensor(X))).data
    return int(np.sum(np.all(h == 0, axis=0)))


def part3_training(seed, lr, out=print):
    """Train the lecture's network from random starts until one solves XOR."""
    out(f"\n3. Training the same network from a random start (seed {seed}): Adam, lr {lr}, MSE loss,")
    out(f"   until every prediction is within {SOLVED} of its target. With only two hidden units a")
    out(f"   start can get stuck (a dead ReLU unit, or a local minimum); after {ATTEMPT_STEPS} steps")
    out("   without success we start again from new random weights.")
    manual_seed(seed)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        model = nn.MLP([2, 2, 1])
        steps = train(model, lr, ATTEMPT_STEPS, stop_within=SOLVED, attempt=attempt)
        if steps is not None:
            _progress(f"   attempt {attempt}: solved after {steps} steps", final=True)
            break
        dead = _dead_units(model)
        why = f"{dead} dead ReLU unit{'s' if dead > 1 else ''}" if dead else "a local minimum"
        _progress(f"   attempt {attempt}: stuck ({why}), starting again", final=True)
    else:
        raise RuntimeError(f"XOR was not solved in {MAX_ATTEMPTS} attempts; try another --seed or --lr")
    X, y = datasets.xor()
    with no_grad():
        pred = model(Tensor(X)).data.ravel()
    out("   learned weights:")
    for name, p in names(model):
        out(f"     {name:2} = {_vec(p.data)}")
    correct = int(np.sum(np.round(pred) == y))
    out(f"   predictions: {' '.join(f'{p:.3f}' for p in pred)} -> rounded "
        f"{' '.join(_fmt(r) for r in np.round(pred))}: {correct}/4 correct")
    return model, pred, correct


def part4_linear(seed, lr, out=print):
    """The identity-activation network: a linear model, which cannot fit XOR."""
    out("\n4. Why nonlinear activations? The same network with the identity instead of ReLU, trained the")
    out(f"   same way (seed {seed}, Adam, lr {lr}) for {LINEAR_STEPS} steps:")
    manual_seed(seed)
    model = nn.MLP([2, 2, 1], activation="identity")
    train(model, lr, LINEAR_STEPS)
    X, _ = datasets.xor()
    with no_grad():
        pred = model(Tensor(X)).data.ravel()
    out(f"   predictions: {' '.join(f'{p:.4f}' for p in pred)}   "
        f"(largest distance from 0.5: {np.abs(pred - 0.5).max():.1e})")
    out("   The best any linear model can do on XOR is 0.5 everywhere. And the two layers are one linear map:")
    (W1, c), (w2, b) = [(layer.weight.data, layer.bias.data) for layer in (model.layers[0], model.layers[2])]
    W, bias = w2 @ W1, w2 @ c + b  # ŷ = w2 (W1 x + c) + b = (w2 W1) x + (w2 c + b)
    single = nn.Linear(2, 1)
    single.load_state_dict({"weight": W, "bias": bias})
    with no_grad():
        one = single(Tensor(X)).data.ravel()
    out("     pred = w2 (W1 x + c) + b = (w2 W1) x + (w2 c + b), with "
        f"w2 W1 = {_vec(W, 4)},  w2 c + b = {_vec(bias, 4)}")
    out(f"   one Linear(2, 1) layer with these weights predicts {' '.join(f'{p:.4f}' for p in one)} "
        f"(difference {np.abs(one - pred).max():.1e})")
    return pred, one


def part5_steps(path, seed, out=print):
    """Write the step-through page of the backward pass, for the network at its random start."""
    manual_seed(seed)
    model = nn.MLP([2, 2, 1])
    *_, loss = loss_graph(model)
    steps = backward_steps(loss, params=names(model), expand=True)
    intro = (f"The lecture's XOR network at its random start (seed {seed}), every op drawn: "
             "each step is one tensor that backward() visits, in the engine's order. Yellow: the "
             "value whose gradient is now complete and the op whose backward rule runs; red: gradients.")
    out(f"\n5. The backward pass, step by step (the network at its random start, seed {seed}):")
    try:
        count = write_html(steps, path, title="XOR: backpropagation, step by step", intro=intro)
    except RenderError as e:
        out(f"   Could not render the pictures: {e}")
        return None
    out(f"   Wrote {path} ({count} steps): open it in a browser, use the arrow keys.")
    return path


def run(out_path="xor.svg", fmt=None, steps_path=None, seed=0, lr=0.1, expand=False, out=print):
    """All five parts; returns what they found (for tests and notebooks)."""
    out_path = Path(out_path)
    fmt = fmt or (out_path.suffix.lstrip(".").lower() if out_path.suffix.lower() in (".svg", ".png") else "svg")
    if out_path.suffix.lower() != f".{fmt}":
        out_path = out_path.with_suffix(f".{fmt}")
    out("XOR with the lecture's network: 2 inputs -> 2 hidden ReLU units -> 1 output\n")
    results = {"hand_set": part1_table(out)}
    results["picture"] = part2_picture(out_path, fmt, expand, out)
    _, results["trained"], results["correct"] = part3_training(seed, lr, out)
    results["linear"], results["one_layer"] = part4_linear(seed, lr, out)
    if steps_path:
        results["steps"] = part5_steps(Path(steps_path), seed, out)
    return results
