"""The lecture's XOR network: hand-set weights, its graph, training, why nonlinearity.

The network has 2 inputs, 2 hidden ReLU units and 1 output: z = W1 x + c, h = ReLU(z),
ŷ = w2 h + b. Its hand-set weights solve XOR; the picture shows its graph after
backward(); it is trained from a random start; and without the ReLU it cannot fit XOR.
This is the demo of ``python -m tinygrad_edu xor``, whose flags choose more (--start
random, --rankdir TB, --format png --dpi 200, --seed, --lr; see its --help).

    python examples/xor.py [--out DIR] [--quick]

writes DIR/xor.svg (the graph at the hand-set weights, every gradient 0),
DIR/xor_random_start.svg (at the seeded random start, where the gradients are not 0) and
DIR/xor_backprop.html (the backward pass, step by step), and prints the numbers. Without
Graphviz the pictures' DOT source (.gv) is written instead.
"""
# %% [markdown]
# # XOR, the problem a line cannot solve
#
# XOR's four points: (0, 0) and (1, 1) are class 0, (0, 1) and (1, 0) class 1. No line
# separates them, so no linear model fits them. One hidden layer of two ReLU units does:
#
#     z = W1 x + c,    h = ReLU(z),    ŷ = w2 h + b,
#
# which is `nn.MLP([2, 2, 1])`. Each part below is one part of `python -m tinygrad_edu xor`
# (tinygrad_edu/xor_demo.py), which prints what it shows.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import xor_demo

LR = 0.1  # Adam's learning rate, as in the demo


# %% [markdown]
# ## 1. The lecture's hand-set weights solve XOR
#
# W1 = [[1, 1], [1, 1]], c = [0, -1], w2 = [1, -2], b = 0. The engine's predictions are
# checked against the lecture's formula written in plain numpy.

# %%
def lecture_numpy(X):
    """ŷ for the hand-set weights, in numpy alone: w2 · max(0, W1 x + c) + b per row of X."""
    weights = xor_demo.LECTURE_WEIGHTS
    W1, c = weights["layers.0.weight"], weights["layers.0.bias"]
    w2, b = weights["layers.2.weight"], weights["layers.2.bias"]
    h = np.maximum(0.0, X @ W1.T + c)
    return (h @ w2.T + b).ravel()


def hand_set():
    """Part 1's table; returns the predictions and their largest distance from numpy's."""
    predictions = xor_demo.part1_table()
    X, _ = tg.datasets.xor()
    return predictions, float(np.max(np.abs(predictions - lecture_numpy(X))))


# %% [markdown]
# ## 2. The graph after `backward()`: at the minimum, and at a random start
#
# At the hand-set weights the loss is 0, so every gradient is 0: a minimum. At a random
# start (seed `xor_demo.DEFAULT_SEED`, chosen so that both ReLU units are active on some
# point) every parameter has a gradient that is not 0, and training follows them downhill.

# %%
def gradients(model):
    """The MSE loss of ``model`` on the four points and each parameter's gradient."""
    *_, loss = xor_demo.loss_graph(model)
    loss.backward()
    return loss.item(), {name: p.grad.data for name, p in xor_demo.names(model)}


def pictures(out):
    """Draw both graphs; returns the files written."""
    hand, _ = xor_demo.part2_picture(out / "xor.svg", "svg")
    start, _ = xor_demo.part2_picture(out / "xor_random_start.svg", "svg", start="random")
    return [hand, start]


# %% [markdown]
# ## 3. Training from a random start, and 4. without the nonlinearity
#
# Adam on the MSE loss solves XOR from the random start. With the identity instead of ReLU
# the network is linear: the best it can do is 0.5 everywhere, and its two layers multiply
# out to a single `Linear(2, 1)`.

# %%
def training(quick):
    """Parts 3 and 4; returns (trained predictions, correct, linear predictions, one layer's)."""
    _, trained, correct = xor_demo.part3_training(xor_demo.DEFAULT_SEED, LR)
    steps = 300 if quick else xor_demo.LINEAR_STEPS  # 300 steps: within 1e-7 of 0.5 already
    linear, one_layer = xor_demo.part4_linear(xor_demo.DEFAULT_SEED, LR, steps=steps)
    return trained, correct, linear, one_layer


# %% [markdown]
# ## 5. The backward pass, one node at a time
#
# A web page with one picture per step of `backward()`, in the engine's order: open it in a
# browser and use the arrow keys.

# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    predictions, error_vs_numpy = hand_set()
    hand_loss, hand_grads = gradients(xor_demo.lecture_network())
    start_loss, start_grads = gradients(xor_demo.random_start(xor_demo.DEFAULT_SEED))
    files = pictures(args.out)
    trained, correct, linear, one_layer = training(args.quick)
    page = xor_demo.part5_steps(args.out / "xor_backprop.html", xor_demo.DEFAULT_SEED)
    files += [page] if page is not None else []
    return _common.report({
        "hand_set_predictions": predictions,
        "hand_set_max_error_vs_numpy": error_vs_numpy,
        "hand_set_loss": hand_loss,
        "hand_set_max_abs_gradient": float(max(np.abs(g).max() for g in hand_grads.values())),
        "random_start_loss": start_loss,
        "random_start_min_abs_gradient": float(min(np.abs(g).min() for g in start_grads.values())),
        "trained_predictions": trained,
        "trained_correct": correct,
        "linear_max_abs_minus_half": float(np.max(np.abs(linear - 0.5))),
        "one_layer_max_difference": float(np.max(np.abs(one_layer - linear))),
        "files": [str(f) for f in files],
    })


if __name__ == "__main__":
    main()
