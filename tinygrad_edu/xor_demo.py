"""The lecture's XOR network, in five parts (``python -m tinygrad_edu xor``).

The network: 2 inputs, a hidden layer of 2 ReLU units, 1 output with no activation,

    z = W1 x + c,    h = ReLU(z),    ŷ = w2 h + b,

which is ``nn.MLP([2, 2, 1])`` with ``W1 = layers.0.weight``, ``c = layers.0.bias``,
``w2 = layers.2.weight`` and ``b = layers.2.bias``.

1. The lecture's hand-set weights solve XOR: a table of x, z, h and ŷ = 0 1 1 0.
2. The graph of the forward pass and the MSE loss after ``backward()``, as a picture: for
   the hand-set weights (a minimum, every gradient 0) or, with ``start="random"``, for the
   network at its seeded random start (every parameter gradient non-zero at the default seed).
3. Training the same network from a seeded random start until it solves XOR.
4. Why nonlinear activations: with the identity instead of ReLU the network is linear,
   predicts 0.5 everywhere, and its two layers multiply out to one linear map.
5. Optionally, the step-through page of the backward pass, for the network at its random
   start (at the hand-set minimum every step would show a gradient of 0).

``run`` trusts its arguments; the command line (``__main__.py``) checks them first.
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
# The default random start: with seed 7 both hidden ReLU units are active on some XOR point
# and every parameter has a non-zero gradient (smallest |entry| 0.02), so the picture of the
# random start shows backprop at work everywhere; it also solves XOR on the first attempt.
# Seed 0, by contrast, starts with a unit active only at x = (0, 0): its W1 row gets gradient 0.
DEFAULT_SEED = 7
STARTS = ("hand", "random")  # what the picture (part 2) is drawn for
FORMATS = ("svg", "png")  # picture formats
SOLVED = 0.05  # trained: every prediction within this of its target
ATTEMPT_STEPS = 200  # a random start that has not solved XOR by then is stuck: start again
MAX_ATTEMPTS = 100
LINEAR_STEPS = 1000  # the identity-activation network's training


def names(model):
    """The lecture's names for the parameters, as (name, tensor) pairs for ``draw_graph``."""
    first, last = model.layers[0], model.layers[2]
    return [("W1", first.weight), ("c", first.bias), ("w2", last.weight), ("b", last.bias)]


class NotSolved(RuntimeError):
    """Training from random starts (part 3) gave up: no start solved XOR."""


def lecture_network():
    """``nn.MLP([2, 2, 1])`` with the lecture's hand-set weights, which solve XOR exactly."""
    model = nn.MLP([2, 2, 1])
    model.load_state_dict(LECTURE_WEIGHTS)
    return model


def random_start(seed):
    """``nn.MLP([2, 2, 1])`` with the random weights that ``seed`` gives: the start that
    part 3 trains first, drawn in part 2 (``start="random"``) and stepped through in part 5."""
    manual_seed(seed)
    return nn.MLP([2, 2, 1])


def zero_gradients(model):
    """How many parameter entries have a gradient of exactly 0 (after ``backward()``)."""
    return sum(int(np.sum(p.grad.data == 0)) for _, p in names(model) if p.grad is not None)


def picture_path(path, fmt=None):
    """The file the picture goes to and its format: ``(Path, "svg" | "png")``.

    The format is ``fmt`` if given, else read from the suffix of ``path`` (no suffix: svg);
    the suffix is then set to match, so ``picture_path("xor", "png")`` is ``xor.png``.
    Raises ``ValueError`` for an unknown format or suffix, or a path with no file name.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ValueError(f"{str(path)!r} has no file name; give one such as xor.svg")
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".")
        if suffix and suffix not in FORMATS:
            raise ValueError(f"cannot draw a .{suffix} picture: the suffix must be .svg or .png "
                             "(or give the format with --format)")
        fmt = suffix or "svg"
    if fmt not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if path.suffix.lower() != f".{fmt}":
        path = path.with_suffix(f".{fmt}")
    return path, fmt


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


def part2_picture(path, fmt, expand=False, out=print, *, start="hand", seed=DEFAULT_SEED, rankdir="LR",
                  dpi=None):
    """Draw the graph after backward(), for the hand-set weights or (``start="random"``) the
    network at its seeded random start; returns ``(file written, the Graph)``.

    ``rankdir`` is draw_graph's ("LR" or "TB"); ``dpi`` sets the resolution of a PNG. Without
    a renderer the DOT source is written next to ``path`` (suffix .gv) instead.
    """
    model = lecture_network() if start == "hand" else random_start(seed)
    *_, loss = loss_graph(model)
    loss.backward()
    graph = draw_graph(loss, params=names(model), expand=expand, rankdir=rankdir)
    if dpi is not None:
        graph.graph_attr["dpi"] = str(dpi)
    if start == "hand":
        out(f"\n2. The graph of the forward pass and the MSE loss, after loss.backward() (loss = {_fmt(loss.item())}).")
        out("   Every gradient is 0: these weights fit XOR exactly, a minimum of the loss.")
    else:
        out(f"\n2. The graph of the forward pass and the MSE loss at the random start (seed {seed}), after")
        out(f"   loss.backward() (loss = {_fmt(loss.item())}). The red gradients say which way each value would")
        out("   have to move to lower the loss; training (part 3) moves the parameters against them.")
        zeros = zero_gradients(model)
        if zeros:
            out(f"   {zeros} parameter entr{'ies have' if zeros > 1 else 'y has'} a gradient of 0 at this start "
                f"(a ReLU unit inactive on the points that would move it); seed {DEFAULT_SEED} has none.")
    out("   Boxes are values (orange: parameters, blue: data, red text: gradients); purple ellipses are")
    out("   the Linear layers, relu and mse_loss" + (" opened up into primitive ops." if expand else
                                                     " (--expand opens them up into primitive ops)."))
    try:
        data = graph.pipe(format=fmt)
    except RenderError as e:
        source = path.with_suffix(".gv")
        source.write_text(graph.source, encoding="utf-8")
        out(f"   Could not render the picture: {e}\n   Wrote its DOT source to {source} instead.")
        return source, graph
    path.write_bytes(data)
    out(f"   Wrote {path}")
    return path, graph


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
        raise NotSolved(f"XOR was not solved from {MAX_ATTEMPTS} random starts of {ATTEMPT_STEPS} steps each "
                        f"at lr {lr:g}; try another --seed, or an lr near the default 0.1")
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


def part4_linear(seed, lr, out=print, steps=LINEAR_STEPS):
    """The identity-activation network: a linear model, which cannot fit XOR."""
    out("\n4. Why nonlinear activations? The same network with the identity instead of ReLU, trained the")
    out(f"   same way (seed {seed}, Adam, lr {lr}) for {steps} steps:")
    manual_seed(seed)
    model = nn.MLP([2, 2, 1], activation="identity")
    train(model, lr, steps)
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


def part5_steps(path, seed, out=print, rankdir="LR"):
    """Write the step-through page (forward, then backward) for the network at its random start."""
    model = random_start(seed)
    *_, loss = loss_graph(model)
    steps = backward_steps(loss, params=names(model), expand=True, rankdir=rankdir)
    intro = (f"The lecture's XOR network at its random start (seed {seed}), every op drawn: first the "
             "forward pass, then the backward pass, one backward rule per step, in the engine's order; "
             "click a number to see its arithmetic.")
    out(f"\n5. The forward and backward pass, step by step (the network at its random start, seed {seed}):")
    try:
        count = write_html(steps, path, title="XOR: backpropagation, step by step", intro=intro)
    except RenderError as e:
        out(f"   Could not render the pictures: {e}")
        return None
    out(f"   Wrote {path} ({count} steps): open it in a browser, use the arrow keys.")
    return path


def run(out_path="xor.svg", fmt=None, steps_path=None, seed=DEFAULT_SEED, lr=0.1, expand=False, out=print, *,
        start="hand", rankdir="LR", dpi=None, linear_steps=LINEAR_STEPS):
    """All five parts; returns what they found (for tests and notebooks).

    ``out_path``/``fmt``: the picture (see ``picture_path``); ``start``: "hand" or "random",
    what the picture shows; ``rankdir``: "LR" or "TB"; ``dpi``: a PNG's resolution;
    ``steps_path``: also write the step-through page there; ``linear_steps``: part 4's
    training steps. Raises ``NotSolved`` if part 3 finds no solution, ``OSError`` if a file
    cannot be written.
    """
    out_path, fmt = picture_path(out_path, fmt)
    out("XOR with the lecture's network: 2 inputs -> 2 hidden ReLU units -> 1 output\n")
    results = {"hand_set": part1_table(out)}
    results["picture"], graph = part2_picture(out_path, fmt, expand, out, start=start, seed=seed,
                                              rankdir=rankdir, dpi=dpi)
    results["dot"] = graph.source
    _, results["trained"], results["correct"] = part3_training(seed, lr, out)
    results["linear"], results["one_layer"] = part4_linear(seed, lr, out, steps=linear_steps)
    if steps_path:
        results["steps"] = part5_steps(Path(steps_path), seed, out, rankdir=rankdir)
    return results
