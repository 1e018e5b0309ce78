"""Depth and width: MLPs of a few shapes on three interleaved spirals.

A feedforward network is a chain of layers, f(x) = f3(f2(f1(x))). As the lecture defines
them, the length of the chain is the network's depth (here 3), and the size of the hidden
layers (f1 and f2: the layers whose outputs the data gives no target for) is its width.
This example trains ReLU MLPs of depth 2, 3 and 4 (one to three hidden layers) and widths
2, 4 and 16, and a linear model (depth 1: no hidden layer), on the same data, and prints a
table and draws a picture of their accuracies and decision regions.

    python examples/depth_and_width.py [--out DIR] [--quick]

writes depth_and_width.png and prints the table. Every model starts from the same seed;
the narrow ones depend on it (a few dead ReLUs are a large part of a width-2 network).
"""
# %% [markdown]
# # Depth and width
#
# nn.MLP([2, w, w, 3]) is the chain f⁽³⁾(f⁽²⁾(f⁽¹⁾(x))) with
# f⁽ˡ⁾(h) = ReLU(W⁽ˡ⁾h + b⁽ˡ⁾) for the hidden layers f⁽¹⁾, f⁽²⁾ and no activation on the
# last, whose 3 outputs are the logits of the 3 classes (cross-entropy loss).
# The lecture's terms: the *depth* is the length of the chain, here 3 (one more than the
# number of hidden layers); the *width* is the size w of the hidden layers. The layers
# between input and output are *hidden* because the training data shows no desired
# output for them. Depth 1, a chain of one layer, is softmax regression: no hidden layer.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import nn, optim


CLASSES = 3


def make_model(depth, width):
    """A chain of ``depth`` layers: ``depth − 1`` hidden layers of ``width`` ReLU units each,
    between 2 inputs and 3 logits (depth 1 is a single linear layer; ``width`` is unused)."""
    return nn.MLP([2] + [width] * (depth - 1) + [CLASSES], activation="relu")


def depth_of(model):
    """The lecture's depth: the number of layers in the chain (the Linear layers of the MLP)."""
    return sum(isinstance(layer, nn.Linear) for layer in model.layers)


def predict(model, X):
    """The class with the largest logit, for every row of X."""
    with tg.no_grad():
        return model(tg.Tensor(X)).numpy().argmax(axis=1)


def n_parameters(model):
    return sum(p.size for p in model.parameters())


# %% [markdown]
# ## Train every shape the same way: Adam, full batch, the same number of steps

# %%
def run(depth, width, train, test, steps):
    (X, y), (X_test, y_test) = train, test
    tg.manual_seed(0)  # the same initialisation stream for every shape
    model = make_model(depth, width)
    X_t = tg.Tensor(X)
    losses = _common.train(lambda: nn.cross_entropy(model(X_t), y),
                           optim.Adam(model.parameters(), lr=0.02), steps, show=False)
    row = {
        "depth": depth_of(model), "hidden_layers": depth_of(model) - 1, "width": width if depth > 1 else None,
        "parameters": n_parameters(model),
        "final_loss": losses[-1],
        "train_accuracy": float(np.mean(predict(model, X) == y)),
        "test_accuracy": float(np.mean(predict(model, X_test) == y_test)),
    }
    print(f"  {row['depth']:>5}  {row['hidden_layers']:>6}  {row['width'] or '-':>5}  {row['parameters']:>10}"
          f"  {row['final_loss']:>10.4f}"
          f"  {row['train_accuracy']:>9.1%}  {row['test_accuracy']:>8.1%}", flush=True)
    return row, model


# %%
def plot(plt, rows, models, depths, widths, train, out):
    X, y = train
    fig = plt.figure(figsize=(10, 6.4))
    grid = fig.add_gridspec(len(depths), len(widths) + 2, width_ratios=[2.2, 0.3] + [1] * len(widths))
    ax = fig.add_subplot(grid[:, 0])  # accuracy against width, one line per depth
    linear = next(r for r in rows if r["depth"] == 1)
    ax.axhline(linear["test_accuracy"], color="gray", ls="--", label="depth 1 (linear)")
    for d in depths:
        acc = [r["test_accuracy"] for r in rows if r["depth"] == d]
        ax.plot(widths, acc, "o-", label=f"depth {d} ({d - 1} hidden)")
    ax.set(xscale="log", xticks=widths, xticklabels=[str(w) for w in widths], ylim=(0, 1.02),
           xlabel="width (units per hidden layer)", ylabel="test accuracy", title="Accuracy on fresh test points")
    ax.minorticks_off()
    ax.grid(alpha=0.4)
    ax.legend(fontsize=8, loc="lower right")
    for i, d in enumerate(depths):  # decision regions: rows are depths, columns widths
        for j, w in enumerate(widths):
            r, model = next((r, m) for r, m in zip(rows, models) if (r["depth"], r["width"]) == (d, w))
            cell = fig.add_subplot(grid[i, j + 2])
            _common.class_map(cell, lambda pts, model=model: predict(model, pts), X, y, CLASSES)
            cell.set_title(f"depth {d}, width {w}: {r['test_accuracy']:.0%}", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.08, top=0.95, wspace=0.08, hspace=0.22)
    return _common.save(fig, out, "depth_and_width.png")


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    if args.quick:
        n, steps, depths, widths = 150, 300, (2, 3), (2, 16)
    else:
        n, steps, depths, widths = 300, 600, (2, 3, 4), (2, 4, 16)
    train = tg.datasets.make_spirals(n, classes=CLASSES, seed=0)
    test = tg.datasets.make_spirals(n, classes=CLASSES, seed=1)  # fresh points, same spirals

    print(f"{n} training points, {steps} Adam steps per model")
    print(f"  {'depth':>5}  {'hidden':>6}  {'width':>5}  {'parameters':>10}  {'final loss':>10}"
          f"  {'train acc':>9}  {'test acc':>8}")
    rows, models = [], []
    for depth, width in [(1, None)] + [(d, w) for d in depths for w in widths]:
        row, model = run(depth, width, train, test, steps)
        rows.append(row)
        models.append(model)

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, rows, models, depths, widths, train, args.out)

    best = max(rows, key=lambda r: r["test_accuracy"])
    return _common.report({
        "table": rows,
        "linear_test_accuracy": rows[0]["test_accuracy"],
        "best_test_accuracy": best["test_accuracy"],
        "best_shape": (best["depth"], best["width"]),
    })


if __name__ == "__main__":
    main()
